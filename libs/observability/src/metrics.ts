import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

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

export function createHttpServerMetrics(registry: Registry) {
  return {
    requestDuration: new Histogram({
      name: 'http_server_request_duration_seconds',
      help: 'Duration of HTTP requests served, by method, route and status code.',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: DURATION_BUCKETS,
      registers: [registry],
    }),
  };
}
