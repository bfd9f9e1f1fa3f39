import type { Registry } from 'prom-client';
import { createGradientLimit, type GradientLimitOptions } from './gradient-limit.js';
import { admissionMetrics, type ShedReason } from './metrics.js';

export interface AdaptiveLimiterOptions extends GradientLimitOptions {
  /** Names the limiter in metrics and errors, e.g. `http` or `inventory`. */
  name: string;
  registry: Registry;
  /** How many requests may wait for a slot; 0 refuses at once whatever finds no slot. */
  queueSize: number;
  /** The longest a request waits for a slot (its own deadline may cut it shorter). */
  queueTimeoutMs: number;
  /** A monotonic clock in ms, for latency; tests pass their own. Default: performance.now. */
  now?: () => number;
}

export interface AcquireOptions {
  /** How long the caller still waits for the answer, in ms; undefined if it set no deadline. */
  timeLeftMs?: number;
  /** Aborts when the caller goes away: a request still queued is then dropped. */
  signal?: AbortSignal;
}

/**
 * How the work of a permit ended, which is what the limit learns from: `success` is an answer
 * (an error of the caller's, such as not found, included): its latency counts. `dropped` is a
 * failure that says something below is overloaded or too slow (overloaded, unavailable, a
 * deadline): the limit shrinks. `ignored` says nothing either way (the caller cancelled, a bug).
 */
export type Outcome = 'success' | 'dropped' | 'ignored';

export interface Permit {
  /** Frees the slot; only the first call counts, so every exit path may call it. */
  release(outcome: Outcome): void;
}

export type Admission =
  { admitted: true; permit: Permit } | { admitted: false; reason: ShedReason };

export interface AdaptiveLimiter {
  readonly name: string;
  /** The limit now (whole requests). */
  readonly limit: number;
  readonly inFlight: number;
  readonly queued: number;
  /**
   * A slot now, a slot after a short wait in the queue, or a refusal: at once when the queue
   * is full or the deadline leaves no time for the work, at the end of the wait otherwise.
   */
  acquire(options?: AcquireOptions): Promise<Admission>;
}

interface Waiter {
  admit: () => void;
  shed: (reason: ShedReason) => void;
}

/**
 * An adaptive concurrency limiter: at most `limit` requests run at once, the limit adapts to
 * their latency (see gradient-limit.ts), and a small FIFO queue absorbs bursts. Nothing waits
 * longer than it can use: a request whose deadline leaves less time than the fastest recent
 * request took is refused before it starts, and a queued one is dropped when its wait or its deadline runs
 * out, or its caller leaves.
 */
export function createAdaptiveLimiter(options: AdaptiveLimiterOptions): AdaptiveLimiter {
  const { name, queueSize, queueTimeoutMs, now = () => performance.now() } = options;
  const limit = createGradientLimit(options);
  const metrics = admissionMetrics(options.registry, name);
  const queue: Waiter[] = [];
  let inFlight = 0;

  const wholeLimit = () => Math.floor(limit.value);
  const show = () => metrics.show({ limit: wholeLimit(), inFlight, queued: queue.length });
  show();

  function permitFor(arrivedAt: number): Permit {
    const startedAt = now();
    inFlight += 1;
    const inFlightAtStart = inFlight;
    metrics.admitted(startedAt - arrivedAt);
    show();
    let released = false;
    return {
      release(outcome) {
        if (released) return;
        released = true;
        inFlight -= 1;
        if (outcome === 'success') limit.onSample(now() - startedAt, inFlightAtStart);
        else if (outcome === 'dropped') limit.onDrop();
        admitWaiting();
        show();
      },
    };
  }

  /** Hands freed slots to the queue, oldest first. */
  function admitWaiting(): void {
    while (inFlight < wholeLimit() && queue.length > 0) queue.shift()!.admit();
  }

  function shedAt(arrivedAt: number, reason: ShedReason): Admission {
    metrics.shed(reason, now() - arrivedAt);
    return { admitted: false, reason };
  }

  return {
    name,
    get limit() {
      return wholeLimit();
    },
    get inFlight() {
      return inFlight;
    },
    get queued() {
      return queue.length;
    },

    acquire({ timeLeftMs, signal } = {}) {
      const arrivedAt = now();
      if (signal?.aborted) return Promise.resolve(shedAt(arrivedAt, 'cancelled'));
      // Time the work itself needs once it starts: a request with less left cannot finish.
      const spareMs = timeLeftMs === undefined ? Infinity : timeLeftMs - limit.fastestRttMs;
      if (spareMs <= 0) return Promise.resolve(shedAt(arrivedAt, 'deadline'));
      if (inFlight < wholeLimit() && queue.length === 0)
        return Promise.resolve({ admitted: true, permit: permitFor(arrivedAt) });
      if (queue.length >= queueSize)
        return Promise.resolve(shedAt(arrivedAt, queueSize === 0 ? 'limit' : 'queue_full'));

      // Waits no longer than the queue allows, nor past the point where the work can still
      // finish in time; whichever ends first names the refusal.
      const waitMs = Math.min(queueTimeoutMs, spareMs);
      const reasonAtTimeout: ShedReason = waitMs < queueTimeoutMs ? 'deadline' : 'limit';
      return new Promise<Admission>((resolve) => {
        const leave = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          const index = queue.indexOf(waiter);
          if (index >= 0) queue.splice(index, 1);
          show();
        };
        const waiter: Waiter = {
          admit: () => {
            leave();
            resolve({ admitted: true, permit: permitFor(arrivedAt) });
          },
          shed: (reason) => {
            leave();
            resolve(shedAt(arrivedAt, reason));
          },
        };
        const onAbort = () => waiter.shed('cancelled');
        const timer = setTimeout(() => waiter.shed(reasonAtTimeout), waitMs);
        signal?.addEventListener('abort', onAbort, { once: true });
        queue.push(waiter);
        show();
      });
    },
  };
}
