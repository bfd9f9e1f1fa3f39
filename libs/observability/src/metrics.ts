import {
  collectDefaultMetrics,
  Histogram,
  Registry,
  type HistogramConfiguration,
} from 'prom-client';

const GAUGES_NAMED_LIKE_COUNTERS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * A registry per process (never prom-client's global one), so tests can build several apps
 * in one process and each /metrics shows only its own app.
 */
export function createMetricsRegistry(options: { service: string }): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  collectDefaultMetrics({ register: registry });
  // prom-client names three gauges with the _total suffix Prometheus keeps for counters
  // (`promtool check metrics` rejects them). Each is the sum of a labelled gauge that stays:
  // sum(nodejs_active_handles) is the same number.
  for (const name of GAUGES_NAMED_LIKE_COUNTERS) registry.removeSingleMetric(name);
  return registry;
}

/** Buckets for request durations in seconds, from 1 ms to 10 s. */
export const DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/**
 * A histogram whose buckets keep an exemplar: the trace id of a sample made in a sampled trace
 * (`observe({ labels, value, exemplarLabels: traceExemplar() })`, ADR 17).
 *
 * prom-client refuses `enableExemplars` on a registry of Prometheus text when the histogram is
 * built, as that format cannot show them; the ops server renders the registry as OpenMetrics
 * whenever the scraper asks for it (metrics-exposition.ts), so the histogram is registered
 * after it is built, and the registry stays in the text format every other reader expects.
 */
export function createExemplarHistogram<T extends string>(
  registry: Registry,
  configuration: Omit<HistogramConfiguration<T>, 'registers' | 'enableExemplars'>,
): Histogram<T> {
  const histogram = new Histogram<T>({ ...configuration, enableExemplars: true, registers: [] });
  registry.registerMetric(histogram);
  return histogram;
}

export function createHttpServerMetrics(registry: Registry) {
  return {
    requestDuration: createExemplarHistogram(registry, {
      name: 'http_server_request_duration_seconds',
      help: 'Duration of HTTP requests served, by method, route and status code.',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: DURATION_BUCKETS,
    }),
  };
}
