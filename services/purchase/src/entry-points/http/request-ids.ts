import { REQUEST_ID_HEADER, requestIdFrom, runWithRequestId } from '@switchboard/observability';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { IncomingMessage } from 'node:http';

const withoutReqIdBinding: NonNullable<FastifyServerOptions['childLoggerFactory']> = (
  logger,
  _bindings,
  options,
) => logger.child({}, options);

/**
 * Fastify's options for the request id (ADR 18): the client's X-Request-Id when valid, else a
 * new UUID; it is `request.id`. Every logger writes it from the request's context (the
 * logger's mixin in @switchboard/observability), so Fastify's own `reqId` binding is left out.
 */
export const REQUEST_ID_OPTIONS = {
  // Not Fastify's requestIdHeader: it takes any value; ours is checked first.
  requestIdHeader: false,
  genReqId: (request: IncomingMessage) => requestIdFrom(request.headers[REQUEST_ID_HEADER]),
  childLoggerFactory: withoutReqIdBinding,
} as const;

/**
 * Returns the id in the response, and runs the rest of the request inside it, so the clients
 * of inventory (gRPC metadata, NATS headers) pass it on without any function carrying it.
 */
export function propagateRequestIds(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    runWithRequestId(request.id, done);
  });
}
