import { refusal, type AdaptiveLimiter, type Outcome, type Permit } from '@switchboard/admission';
import type { FastifyInstance } from 'fastify';
import { sendError } from './error-replies.js';

/**
 * Admission control of the routes registered on `app` (ADR 11). A request takes a slot of the
 * limiter first thing (onRequest: before its body is read or validated, so a refusal costs
 * little), waits briefly in the limiter's queue, or is answered 503 OVERLOADED with
 * Retry-After at once. The slot is freed when the response is done, or when the client goes
 * away, whichever comes first; the raw response's 'close' event marks both, exactly once.
 */
export function admitRequests(
  app: FastifyInstance,
  deps: { limiter: AdaptiveLimiter; requestTimeoutMs: number },
): void {
  app.addHook('onRequest', async (request, reply) => {
    const clientLeft = new AbortController();
    let permit: Permit | undefined;
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) clientLeft.abort();
      permit?.release(reply.raw.writableFinished ? outcomeOfStatus(reply.statusCode) : 'ignored');
    });
    const admission = await deps.limiter.acquire({
      // The request's deadline counts from its arrival, as requestDeadline does.
      timeLeftMs: deps.requestTimeoutMs - reply.elapsedTime,
      signal: clientLeft.signal,
    });
    if (!admission.admitted) return sendError(reply, refusal(deps.limiter.name, admission.reason));
    permit = admission.permit;
  });
}

/** What an answer says about the load below: see `Outcome` in @switchboard/admission. */
function outcomeOfStatus(status: number): Outcome {
  if (status === 503 || status === 504) return 'dropped';
  if (status >= 500) return 'ignored';
  return 'success';
}
