/**
 * How long to wait before the next attempt, growing after each failure: the one backoff of
 * the system (NATS requests, consumer redeliveries, the outbox relay, purchase's releaser).
 */
export interface BackoffPolicy {
  /** The pause before the first retry. */
  initialMs: number;
  /** The pause stops growing here (before the jitter). */
  maxMs: number;
  /** Each pause is this many times the one before; default 2. */
  multiplier?: number;
  /**
   * Each pause is moved up or down at random by up to this fraction; default 0.2 (±20 %, as
   * grpc-js does, gRFC A6), so that clients that failed together do not retry together.
   */
  jitter?: number;
}

/**
 * The pause before retry number `retry` (1 for the first retry): `initialMs` times
 * `multiplier` to the power `retry - 1`, at most `maxMs`, then ±`jitter`, in whole ms.
 * `random` (0 ≤ r < 1) is there for tests.
 */
export function backoff(
  retry: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const { initialMs, maxMs, multiplier = 2, jitter = 0.2 } = policy;
  const ceiling = Math.min(initialMs * multiplier ** (retry - 1), maxMs);
  return Math.round(ceiling * (1 + jitter * (2 * random() - 1)));
}

/** The longest pause `backoff` can return: for settings that must agree with it. */
export function longestBackoffMs(policy: Pick<BackoffPolicy, 'maxMs' | 'jitter'>): number {
  return Math.round(policy.maxMs * (1 + (policy.jitter ?? 0.2)));
}
