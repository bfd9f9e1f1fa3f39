import { AppError, isAppError } from '@switchboard/errors';
import type { AcquireOptions, AdaptiveLimiter, Outcome } from './adaptive-limiter.js';
import type { ShedReason } from './metrics.js';

/**
 * Runs `work` in a slot of the limiter and frees the slot however it ends. Refused work is
 * never started: it rejects with `OVERLOADED` (gRPC RESOURCE_EXHAUSTED, HTTP and NATS 503), or
 * `CANCELLED` when the caller left while it waited.
 */
export async function runAdmitted<T>(
  limiter: AdaptiveLimiter,
  work: () => Promise<T>,
  options: AcquireOptions = {},
): Promise<T> {
  const admission = await limiter.acquire(options);
  if (!admission.admitted) throw refusal(limiter.name, admission.reason);
  try {
    const result = await work();
    admission.permit.release('success');
    return result;
  } catch (error) {
    admission.permit.release(outcomeOf(error));
    throw error;
  }
}

/** The error a refused request is answered with. */
export function refusal(limiter: string, reason: ShedReason): AppError {
  if (reason === 'cancelled')
    return new AppError('CANCELLED', 'the caller left before the work started');
  return new AppError('OVERLOADED', `${limiter} is at capacity (${MEANING[reason]}); retry later`);
}

const MEANING: Record<Exclude<ShedReason, 'cancelled'>, string> = {
  limit: 'no slot came free in time',
  queue_full: 'the queue is full',
  deadline: 'the deadline leaves too little time',
};

/** What a failure says about load below: see `Outcome`. */
export function outcomeOf(error: unknown): Outcome {
  if (!isAppError(error)) return 'ignored';
  switch (error.code) {
    case 'OVERLOADED':
    case 'UNAVAILABLE':
    case 'DEADLINE_EXCEEDED':
      return 'dropped';
    case 'CANCELLED':
    case 'INTERNAL':
      return 'ignored';
    default:
      // The peer answered (not found, short stock, a bad argument): a normal latency sample.
      return 'success';
  }
}
