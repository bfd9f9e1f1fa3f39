import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CallOptions } from '../../domain/inventory-client.js';

/**
 * The deadline of an HTTP request, counted from its arrival, and a signal that fires when
 * the client goes away: calls made for the request stop at whichever comes first.
 */
export function requestDeadline(
  request: FastifyRequest,
  reply: FastifyReply,
  timeoutMs: number,
): CallOptions {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  const arrivedAt = Date.now() - reply.elapsedTime;
  return { deadline: new Date(arrivedAt + timeoutMs), signal: controller.signal };
}
