import { createGroupCommit } from '@switchboard/postgres';
import { Histogram, type Registry } from 'prom-client';
import type { GroupReserves } from '../domain/inventory.js';

/**
 * Group commit for Reserves (ADR 28): the Reserves that arrive while earlier batches are in
 * their transactions go together in the next one, so they share its commit.
 */
export function groupReservesWithCommit(options: {
  maxBatch: number;
  maxInFlight: number;
  registry: Registry;
}): GroupReserves {
  const batchSize = new Histogram({
    name: 'inventory_reserve_batch_size',
    help: 'Reserves that shared one transaction and its commit (group commit).',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [options.registry],
  });
  return (reserveTogether) => {
    const reserves = createGroupCommit({
      run: reserveTogether,
      maxBatch: options.maxBatch,
      maxInFlight: options.maxInFlight,
      // Two Reserves of one order never share a transaction: the second would see the
      // first's reservation before its items are written.
      keyOf: (command) => command.orderId,
      onBatch: (size) => batchSize.observe(size),
    });
    return (command, signal) => reserves.submit(command, signal);
  };
}
