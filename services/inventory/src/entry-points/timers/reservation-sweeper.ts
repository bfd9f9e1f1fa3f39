import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@switchboard/observability';
import { Counter, type Registry } from 'prom-client';
import type { Inventory } from '../../domain/inventory.js';

/** Reservations released per round at most; a full round goes on at once. */
const BATCH = 100;

export interface ReservationSweeper {
  stop(): Promise<void>;
}

/**
 * Every `intervalMs`, releases the reservations that were not committed within their TTL:
 * the purchase that made them failed, or crashed, before its order was stored. Safe to run
 * in every replica (the query skips rows another transaction holds).
 */
export function startReservationSweeper(options: {
  inventory: Inventory;
  intervalMs: number;
  logger: Logger;
  registry: Registry;
}): ReservationSweeper {
  const { inventory, logger } = options;
  const expired = new Counter({
    name: 'inventory_reservations_expired_total',
    help: 'Reservations released because their order was not confirmed within their TTL.',
    registers: [options.registry],
  });
  let stopping = false;
  // Aborted by stop(): ends the pause between two sweeps at once, and a pause that would start
  // after stop() (a sweep was running when it came) does not start at all.
  const stopped = new AbortController();

  async function sweep(): Promise<void> {
    while (!stopping) {
      let released = 0;
      try {
        released = await inventory.releaseExpired(BATCH);
        if (released > 0) {
          expired.inc(released);
          logger.info({ released }, 'expired reservations released');
        }
      } catch (error) {
        logger.error({ err: error }, 'releasing expired reservations failed; trying again later');
      }
      if (released < BATCH) {
        await sleep(options.intervalMs, undefined, { signal: stopped.signal }).catch(() => {});
      }
    }
  }

  const running = sweep();
  return {
    async stop() {
      stopping = true;
      stopped.abort();
      await running;
    },
  };
}
