import Negotiator from 'negotiator';
import { Registry, type RegistryContentType } from 'prom-client';

// The two formats /metrics serves; the first is the default (curl, any type, no Accept).
const FORMATS = [Registry.PROMETHEUS_CONTENT_TYPE, Registry.OPENMETRICS_CONTENT_TYPE];

export interface MetricsExposition {
  contentType: string;
  body: string;
}

/**
 * Renders a registry in the format the scraper prefers, by its Accept header: OpenMetrics when
 * it asks for it (Prometheus does, first), so the latency histograms' exemplars (trace ids,
 * ADR 17) reach it; Prometheus text otherwise, so curl, promtool and older scrapers read what
 * they always read.
 *
 * prom-client 15 renders OpenMetrics only from a registry of that content type, and while doing
 * so renames each counter in place (`x_total` becomes `x`, prometheus/client_js#829), which would
 * break the Prometheus text of every later scrape. So one render runs at a time, and an
 * OpenMetrics render switches the registry's content type and puts the names back afterwards.
 */
export function createMetricsExposition(registry: Registry<RegistryContentType>): {
  render(accept: string | undefined): Promise<MetricsExposition>;
} {
  let previous: Promise<unknown> = Promise.resolve();

  async function renderAs(contentType: string): Promise<MetricsExposition> {
    if (contentType !== Registry.OPENMETRICS_CONTENT_TYPE) {
      return { contentType: registry.contentType, body: await registry.metrics() };
    }
    const names = registry.getMetricsAsArray().map((metric) => [metric, metric.name] as const);
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    try {
      return { contentType, body: await registry.metrics() };
    } finally {
      registry.setContentType(Registry.PROMETHEUS_CONTENT_TYPE);
      for (const [metric, name] of names) metric.name = name;
    }
  }

  return {
    render(accept) {
      const contentType = new Negotiator({ headers: { accept } }).mediaType(FORMATS) ?? FORMATS[0]!;
      const rendered = previous.then(() => renderAs(contentType));
      previous = rendered.catch(() => undefined);
      return rendered;
    },
  };
}
