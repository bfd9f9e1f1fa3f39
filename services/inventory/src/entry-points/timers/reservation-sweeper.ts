import { createPeriodicWorker } from '@switchboard/lifecycle';
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
  const { inventory, logger, intervalMs } = options;
  const expired = new Counter({
    name: 'inventory_reservations_expired_total',
    help: 'Reservations released because their order was not confirmed within their TTL.',
    registers: [options.registry],
  });

  const worker = createPeriodicWorker({
    name: 'reservation sweeper',
    logger,
    async round() {
      const released = await inventory.releaseExpired(BATCH);
      if (released > 0) {
        expired.inc(released);
        logger.info({ released }, 'expired reservations released');
      }
      // A full batch: more are waiting.
      return { ms: released < BATCH ? intervalMs : 0 };
    },
    // The reservations are still there at the next sweep.
    onError: () => ({ ms: intervalMs }),
  });
  worker.start();
  return { stop: () => worker.stop() };
}
