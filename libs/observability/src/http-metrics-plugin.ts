import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { createHttpServerMetrics } from './metrics.js';

/**
 * Records every request's duration on the app's registry. The route label is the route
 * pattern (/v1/purchases/:id), never the raw URL, so the label set stays bounded.
 */
export function registerHttpMetrics(app: FastifyInstance, registry: Registry): void {
  const { requestDuration } = createHttpServerMetrics(registry);
  app.addHook('onResponse', (request, reply, done) => {
    requestDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    done();
  });
}
