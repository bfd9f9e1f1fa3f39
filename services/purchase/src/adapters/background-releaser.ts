import { setTimeout as sleep } from 'node:timers/promises';
import { isAppError } from '@switchboard/errors';
import { backoff } from '@switchboard/resilience';
import type { Logger } from '@switchboard/observability';
import { Counter, type Registry } from 'prom-client';
import type { InventoryClient } from '../domain/inventory-client.js';
import type { ReservationReleaser } from '../domain/reservation-releaser.js';

export interface BackgroundReleaserOptions {
  /** Releases under way at once; the others wait their turn. Default 4. */
  concurrency?: number;
  /** Releases waiting at most; one more is abandoned to the reservation's TTL. Default 1000. */
  maxWaiting?: number;
  /** Attempts per release, the first included. Default 3. */
  attempts?: number;
  /** The deadline of each attempt. Default 2 s. */
  attemptTimeoutMs?: number;
  /** The pause after the first failed attempt, doubled after each next one (±20 %). Default 200 ms. */
  backoffMs?: number;
  /** How long stop() lets the releases under way and waiting finish before abandoning them. Default 2 s. */
  stopGraceMs?: number;
}

export interface BackgroundReleaser extends ReservationReleaser {
  /** Takes no more; lets what is scheduled finish within the grace, then abandons the rest. */
  stop(): Promise<void>;
}

const OUTCOMES = ['released', 'failed', 'abandoned'] as const;
type Outcome = (typeof OUTCOMES)[number];

/**
 * Releases reservations in the background, bounded in every way a failure storm could stretch
 * it: so many at once, so many waiting, so many attempts, each with its own short deadline.
 * A release that cannot be done is not lost: inventory's sweeper frees the stock at its TTL.
 */
export function createBackgroundReleaser(deps: {
  inventory: InventoryClient;
  logger: Logger;
  registry: Registry;
  options?: BackgroundReleaserOptions;
}): BackgroundReleaser {
  const { inventory, logger } = deps;
  const {
    concurrency = 4,
    maxWaiting = 1000,
    attempts = 3,
    attemptTimeoutMs = 2_000,
    backoffMs = 200,
    stopGraceMs = 2_000,
  } = deps.options ?? {};
  const releases = new Counter({
    name: 'purchase_reservation_releases_total',
    help: 'Reservations of failed purchases given back in the background, by outcome (released, failed, abandoned).',
    labelNames: ['outcome'],
    registers: [deps.registry],
  });
  for (const outcome of OUTCOMES) releases.inc({ outcome }, 0);

  const waiting: { orderId: string; reason: string }[] = [];
  let running = 0;
  let stopping = false;
  // Aborted at the end of the stop's grace: cuts the calls and the pauses still under way.
  const abandon = new AbortController();
  const idleWaiters: (() => void)[] = [];

  function record(orderId: string, reason: string, outcome: Outcome, error?: unknown): void {
    releases.inc({ outcome });
    if (outcome === 'released') logger.info({ orderId, reason }, 'reservation released');
    else
      logger.warn(
        { orderId, reason, outcome, err: error },
        'reservation not released; it will expire by its TTL',
      );
  }

  async function release(orderId: string, reason: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await inventory.release(orderId, {
          deadline: new Date(Date.now() + attemptTimeoutMs),
          signal: abandon.signal,
        });
        return record(orderId, reason, 'released');
      } catch (error) {
        if (abandon.signal.aborted) return record(orderId, reason, 'abandoned', error);
        if (isDefinitive(error) || attempt >= attempts) {
          return record(orderId, reason, 'failed', error);
        }
      }
      // A pause no longer than an attempt may take.
      const pause = backoff(attempt, { initialMs: backoffMs, maxMs: attemptTimeoutMs });
      await sleep(pause, undefined, { signal: abandon.signal }).catch(() => {});
      if (abandon.signal.aborted) return record(orderId, reason, 'abandoned');
    }
  }

  function startWaiting(): void {
    while (running < concurrency && waiting.length > 0) {
      const { orderId, reason } = waiting.shift()!;
      running++;
      void release(orderId, reason).finally(() => {
        running--;
        startWaiting();
        if (running === 0 && waiting.length === 0) for (const wake of idleWaiters.splice(0)) wake();
      });
    }
  }

  function whenIdle(): Promise<void> {
    if (running === 0 && waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => idleWaiters.push(resolve));
  }

  return {
    releaseSoon(orderId, reason) {
      if (stopping || waiting.length >= maxWaiting) {
        record(orderId, reason, 'abandoned');
        return;
      }
      waiting.push({ orderId, reason });
      startWaiting();
    },

    async stop() {
      stopping = true;
      const grace = new AbortController();
      await Promise.race([
        whenIdle(),
        sleep(stopGraceMs, undefined, { signal: grace.signal }).catch(() => {}),
      ]);
      grace.abort();
      abandon.abort();
      for (const { orderId, reason } of waiting.splice(0)) record(orderId, reason, 'abandoned');
      await whenIdle();
    },
  };
}

/** Inventory's answers that another attempt would not change. */
function isDefinitive(error: unknown): boolean {
  return (
    isAppError(error) &&
    (error.code === 'INVALID_ARGUMENT' ||
      error.code === 'NOT_FOUND' ||
      error.code === 'ALREADY_EXISTS')
  );
}
