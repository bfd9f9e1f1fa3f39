import Fastify from 'fastify';
import { afterAll } from 'vitest';
import {
  createLogger,
  createMetricsRegistry,
  createOpsServer,
  registerHttpMetrics,
} from '../../src/index.js';

/** The Accept header Prometheus sends (2.x): OpenMetrics first, its text format after. */
export const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

/**
 * A Fastify app with the HTTP metrics and one route, `GET /work`, and the ops server on the
 * same registry, both on loopback; stopped after the file. Build it after tracing started:
 * @fastify/otel instruments the Fastify instances created once it is on.
 */
export async function startAppWithOps() {
  const logger = createLogger({ service: 'test', level: 'silent' });
  const registry = createMetricsRegistry({ service: 'exemplar-test' });
  const app = Fastify();
  registerHttpMetrics(app, registry);
  app.get('/work', () => ({ done: true }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const ops = createOpsServer({ host: '127.0.0.1', port: 0, registry, logger });
  const opsPort = await ops.start();
  afterAll(async () => {
    await ops.stop();
    await app.close();
  });
  const address = app.server.address();
  const appPort = typeof address === 'object' && address ? address.port : 0;
  return {
    appUrl: `http://127.0.0.1:${appPort}`,
    /** GET /metrics with this Accept header (none: curl's default). */
    scrape: async (accept?: string) => {
      const response = await fetch(`http://127.0.0.1:${opsPort}/metrics`, {
        headers: accept ? { accept } : {},
      });
      return { contentType: response.headers.get('content-type'), text: await response.text() };
    },
  };
}

/** The trace ids of the exemplars on the buckets of `GET /work`'s duration histogram. */
export function workExemplarTraceIds(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('http_server_request_duration_seconds_bucket{'))
    .filter((line) => line.includes('route="/work"'))
    .flatMap((line) => /# \{trace_id="([^"]*)"\}/.exec(line)?.[1] ?? []);
}
