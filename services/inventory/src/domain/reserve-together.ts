import { refusalOrThrow, type InBatch, type Outcome } from './batches.js';
import type { InventoryRepository, InventoryTransaction } from './inventory-repository.js';
import { changeStockOfBatch } from './change-stock.js';
import { moveStock } from './stock-movements.js';
import { answerRepeatedReserve, checkAvailability, sortItems } from './stock-rules.js';
import type { Reservation, ReserveCommand, StockCount } from './types.js';

type ReserveInBatch = InBatch<ReserveCommand>;
type ReserveOutcome = Outcome<Reservation>;

/**
 * Runs a batch of Reserves in one transaction (group commit, ADR 28). Each order is all or
 * nothing, decided in the batch's order as if each had a transaction of its own: a short or
 * unknown SKU refuses that order alone, and the others go on. The stock rows of the whole
 * batch are locked once, in SKU order, written once, and committed once: one flush for all.
 *
 * Expects no two Reserves of the same order in one batch (the group commit keeps them apart).
 */
export function reserveTogether(
  repository: InventoryRepository,
  batch: ReserveInBatch[],
): Promise<ReserveOutcome[]> {
  return repository.inTransaction(undefined, async (transaction) => {
    const outcomes: ReserveOutcome[] = [];
    // Claims every order id first: a concurrent Reserve of one of them waits here on the key
    // until its transaction ends, and then finds its reservation stored.
    const inserted = new Map(
      (
        await transaction.insertReservations(
          batch.map(({ request: { orderId, ttlSeconds } }) => ({
            orderId,
            state: 'RESERVED' as const,
            ttlSeconds,
          })),
        )
      ).map((reservation) => [reservation.orderId, reservation]),
    );

    const fresh: number[] = [];
    for (const [index, { request }] of batch.entries()) {
      if (inserted.has(request.orderId)) fresh.push(index);
      else outcomes[index] = await answerRepeated(transaction, request);
    }
    if (fresh.length === 0) return outcomes;

    const skus = new Set(fresh.flatMap((index) => skusOf(batch[index] as ReserveInBatch)));
    // The running counts: each accepted order's hold is seen by the orders after it.
    const counts = await transaction.lockStock([...skus]);
    const accepted: ReserveCommand[] = [];
    const dropped: string[] = [];
    for (const index of fresh) {
      const { request, signal } = batch[index] as ReserveInBatch;
      const decided = decide(request, signal, counts);
      outcomes[index] = decided.ok
        ? {
            ok: true,
            value: {
              ...(inserted.get(request.orderId) as Reservation),
              items: sortItems(request.items),
            },
          }
        : decided;
      if (decided.ok) accepted.push(request);
      else dropped.push(request.orderId);
    }

    // A refused order keeps no reservation: its Reserve may come again when stock is back.
    if (dropped.length > 0) await transaction.deleteReservations(dropped);
    if (accepted.length > 0) {
      await changeStockOfBatch(transaction, accepted, counts);
      await transaction.addReservationItems(
        accepted.map(({ orderId, items }) => ({ orderId, items })),
      );
    }
    return outcomes;
  });
}

/**
 * Holds the order's items in the running counts, or refuses it: a caller who has gone away
 * (checked here, after the wait for the row locks, where a wait is long) or a short or
 * unknown SKU. Anything else thrown is a bug and fails the batch.
 */
function decide(
  request: ReserveCommand,
  signal: AbortSignal | undefined,
  counts: Map<string, StockCount>,
): { ok: true } | { ok: false; error: unknown } {
  if (signal?.aborted) return { ok: false, error: signal.reason };
  try {
    checkAvailability(request.items, counts);
  } catch (error) {
    return refusalOrThrow(error);
  }
  for (const count of moveStock(counts, request.items, 'hold')) counts.set(count.sku, count);
  return { ok: true };
}

/** A Reserve of an order that has a reservation gets what answerRepeatedReserve says. */
async function answerRepeated(
  transaction: InventoryTransaction,
  request: ReserveCommand,
): Promise<ReserveOutcome> {
  const stored = await transaction.readReservation(request.orderId, { lock: false });
  if (!stored) throw new Error(`reservation ${request.orderId} conflicted but cannot be read`);
  try {
    return { ok: true, value: answerRepeatedReserve(stored, request.items) };
  } catch (error) {
    return refusalOrThrow(error);
  }
}

function skusOf({ request }: ReserveInBatch): string[] {
  return request.items.map(({ sku }) => sku);
}
