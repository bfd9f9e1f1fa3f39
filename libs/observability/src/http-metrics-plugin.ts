import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { traceExemplar } from '@switchboard/telemetry';
import { createHttpServerMetrics } from './metrics.js';

/**
 * Records every request's duration on the app's registry. The route label is the route
 * pattern (/v1/purchases/:id), never the raw URL, so the label set stays bounded. A request
 * traced and sampled leaves its trace id as the bucket's exemplar (ADR 17).
 */
export function registerHttpMetrics(app: FastifyInstance, registry: Registry): void {
  const { requestDuration } = createHttpServerMetrics(registry);
  app.addHook('onResponse', (request, reply, done) => {
    requestDuration.observe({
      labels: {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      },
      value: reply.elapsedTime / 1000,
      exemplarLabels: traceExemplar(),
    });
    done();
  });
}
