import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Retry-After, enforced per connection (ADR 11). A client answered "503, Retry-After: N" that
 * asks again at once on the same connection is held until its N seconds are up; then its
 * request is admitted or refused as any other.
 *
 * Why: a client that ignores Retry-After (wrk, autocannon, a naive retry loop) asks again as
 * fast as it is refused. With thousands of them, the refusals alone fill the event loop, and
 * the requests that were admitted wait behind them past their deadline: the retry storm that
 * turns overload into no goodput at all. Held, each such connection costs one refusal per
 * Retry-After and a timer. A client that waits as asked is never held.
 *
 * Behind a proxy that carries many clients on one connection, holding would delay clients
 * that did nothing wrong: turn it off there (ADMISSION_EARLY_RETRIES=serve).
 */
export interface EarlyRetryHold {
  /**
   * Resolves once the connection's last Retry-After is up (at once if it has none): true if
   * the request was held.
   */
  wait(socket: Socket, signal: AbortSignal): Promise<boolean>;
  /** The connection was just refused with a Retry-After of `retryAfterMs`. */
  refused(socket: Socket, retryAfterMs: number): void;
}

export function createEarlyRetryHold(): EarlyRetryHold {
  // Keyed by the socket itself: the entry goes with the connection, nothing to clean up.
  const backAfter = new WeakMap<Socket, number>();
  return {
    async wait(socket, signal) {
      const after = backAfter.get(socket);
      if (after === undefined) return false;
      const early = after - performance.now();
      if (early <= 0) return false;
      // A client that goes away meanwhile ends the wait; its request is answered to no one.
      await sleep(early, undefined, { signal }).catch(() => undefined);
      return true;
    },
    refused(socket, retryAfterMs) {
      backAfter.set(socket, performance.now() + retryAfterMs);
    },
  };
}

/** For connections that may carry several clients: every request is served at once. */
export const NO_EARLY_RETRY_HOLD: EarlyRetryHold = {
  wait: () => Promise.resolve(false),
  refused: () => undefined,
};
