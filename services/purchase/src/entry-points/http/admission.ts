import {
  refusal,
  type AdaptiveLimiter,
  type Outcome,
  type RetryAfter,
} from '@switchboard/admission';
import type { FastifyInstance } from 'fastify';
import type { EarlyRetryHold } from './early-retries.js';
import { sendError } from './error-replies.js';
import { startDeadlineNow, timeLeftMs } from './request-deadline.js';

/**
 * Admission control of the routes registered on `app` (ADR 11). A request takes a slot of the
 * limiter once its body is in (preValidation: a client that sends its body slowly holds a
 * socket until HTTP_REQUEST_TIMEOUT_MS, never a slot, ADR 18; validation and work come after,
 * so a refusal still costs little), waits briefly in the limiter's queue, or is answered 503 OVERLOADED with
 * Retry-After at once. The Retry-After grows with the crowd of refused clients, so that they
 * come back at a rate the service can afford to refuse (retry-after.ts in the lib). A request
 * that comes back on a refused connection before its Retry-After is up is held until then
 * first (early-retries.ts). The slot is freed when the response is done, or when the client
 * goes away, whichever comes first; the raw response's 'close' event marks both, exactly once.
 */
export function admitRequests(
  app: FastifyInstance,
  deps: {
    limiter: AdaptiveLimiter;
    retryAfter: RetryAfter;
    requestTimeoutMs: number;
    earlyRetries: EarlyRetryHold;
  },
): void {
  app.addHook('preValidation', async (request, reply) => {
    // While held or queued, a client that goes away takes its request out of the line.
    const clientLeft = new AbortController();
    const leaveQueue = () => clientLeft.abort();
    reply.raw.once('close', leaveQueue);
    const { socket } = request.raw;
    const held = await deps.earlyRetries.wait(socket, clientLeft.signal);
    if (held) startDeadlineNow(request);
    const admission = await deps.limiter.acquire({
      // The same deadline as the request's calls will have (request-deadline.ts).
      timeLeftMs: timeLeftMs(request, reply, deps.requestTimeoutMs),
      signal: clientLeft.signal,
    });
    reply.raw.off('close', leaveQueue);
    if (!admission.admitted) {
      const error = refusal(deps.limiter.name, admission.reason);
      // A client that left is answered no one: it is not told to wait, nor counted away.
      if (error.code !== 'OVERLOADED') return sendError(reply, error);
      const retryAfterSeconds = deps.retryAfter.refuse();
      deps.earlyRetries.refused(socket, retryAfterSeconds * 1000);
      return sendError(reply, error, retryAfterSeconds);
    }

    // Once admitted, the slot is freed when the response closes: sent, or cut off by the client.
    const release = () =>
      admission.permit.release(
        reply.raw.writableFinished ? outcomeOfStatus(reply.statusCode) : 'ignored',
      );
    if (reply.raw.closed) release();
    else reply.raw.once('close', release);
  });
}

/** What an answer says about the load below: see `Outcome` in @switchboard/admission. */
function outcomeOfStatus(status: number): Outcome {
  if (status === 503 || status === 504) return 'dropped';
  if (status >= 500) return 'ignored';
  return 'success';
}
