import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CallOptions } from '../../domain/inventory-client.js';

// When a request's deadline starts, for requests that were held before they could start.
const clockStarts = new WeakMap<FastifyRequest, number>();

/**
 * Starts the request's deadline now rather than at its arrival: for a request held until
 * the Retry-After its client ignored was up (early-retries.ts). The hold is the wait the
 * client was asked for, not time it gave the service; counted in, it left held requests too
 * little time to finish, and some were answered 504 after doing the work.
 */
export function startDeadlineNow(request: FastifyRequest): void {
  clockStarts.set(request, Date.now());
}

/** Milliseconds the request has left of `timeoutMs`. */
export function timeLeftMs(request: FastifyRequest, reply: FastifyReply, timeoutMs: number) {
  return startOf(request, reply) + timeoutMs - Date.now();
}

function startOf(request: FastifyRequest, reply: FastifyReply): number {
  return clockStarts.get(request) ?? Date.now() - reply.elapsedTime;
}

/**
 * The deadline of an HTTP request, counted from its arrival (or from the end of its hold),
 * and a signal that fires when the client goes away: calls made for the request stop at
 * whichever comes first.
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
  return { deadline: new Date(startOf(request, reply) + timeoutMs), signal: controller.signal };
}
