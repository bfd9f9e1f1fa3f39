import { refusalOrThrow, type InBatch, type Outcome } from './batches.js';
import { reservationNotFound } from './inventory-errors.js';
import type { InventoryRepository } from './inventory-repository.js';
import { changeStockOfBatch } from './change-stock.js';
import { moveStock } from './stock-movements.js';
import { checkAvailability, commitAction } from './stock-rules.js';
import type { CommitOutcome, InboxMessage, Reservation } from './types.js';

/** An order confirmed (OrderConfirmed), and the message that said so. */
export interface CommitRequest {
  orderId: string;
  message: InboxMessage;
}

/**
 * Commits a batch of confirmed orders' reservations in one transaction (group commit, ADR
 * 28): the consumer's messages share one commit instead of one each. Each order is decided
 * on its own, in the batch's order, as if it had a transaction of its own:
 * - a message recorded before (a second delivery) changes nothing;
 * - an order with no reservation, or whose released units are gone, fails alone, and its
 *   message is taken back out of the inbox, so it counts as new when it comes again;
 * - a reservation committed before is answered as it is.
 *
 * Expects no two commits of the same order in one batch (the group commit keeps them apart).
 */
export function commitTogether(
  repository: InventoryRepository,
  batch: InBatch<CommitRequest>[],
): Promise<Outcome<CommitOutcome>[]> {
  return repository.inTransaction(undefined, async (transaction) => {
    const outcomes: Outcome<CommitOutcome>[] = [];
    // The inbox first: a message delivered again stops here.
    const recorded = new Set<InboxMessage>();
    for (const [consumer, messages] of byConsumer(batch)) {
      const fresh = await transaction.recordInboxMessages(
        consumer,
        messages.map(({ id }) => id),
      );
      for (const message of messages) if (fresh.has(message.id)) recorded.add(message);
    }
    const toCommit: { index: number; stored: Reservation; takeAgain: boolean }[] = [];
    const takenBack: InboxMessage[] = [];
    const refuse = (index: number, message: InboxMessage, error: unknown) => {
      outcomes[index] = refusalOrThrow(error);
      takenBack.push(message);
    };

    // The row locks make a concurrent Release, expiry or commit of these orders wait.
    const reservations = await transaction.lockReservations(
      batch
        .filter(({ request }) => recorded.has(request.message))
        .map(({ request }) => request.orderId),
    );
    for (const [index, { request }] of batch.entries()) {
      if (!recorded.has(request.message)) {
        outcomes[index] = { ok: true, value: { kind: 'duplicate-message' } };
        continue;
      }
      const stored = reservations.get(request.orderId);
      if (!stored) {
        refuse(index, request.message, reservationNotFound(request.orderId));
        continue;
      }
      const action = commitAction(stored);
      if (action === 'unchanged') {
        outcomes[index] = { ok: true, value: { kind: 'already-committed', reservation: stored } };
      } else {
        toCommit.push({ index, stored, takeAgain: action === 'take-again' });
      }
    }

    const counts = await transaction.lockStock([
      ...new Set(toCommit.flatMap(({ stored }) => stored.items.map(({ sku }) => sku))),
    ]);
    const committed: Reservation[] = [];
    for (const { index, stored, takeAgain } of toCommit) {
      const request = (batch[index] as InBatch<CommitRequest>).request;
      try {
        // A reservation released meanwhile takes its units again, if they are there.
        if (takeAgain) checkAvailability(stored.items, counts);
      } catch (error) {
        refuse(index, request.message, error);
        continue;
      }
      const moved = moveStock(counts, stored.items, takeAgain ? 'take-again' : 'take-held');
      for (const count of moved) counts.set(count.sku, count);
      const reservation: Reservation = { ...stored, state: 'COMMITTED' };
      committed.push(reservation);
      outcomes[index] = { ok: true, value: { kind: 'committed', reservation } };
    }

    for (const [consumer, messages] of byConsumer(
      takenBack.map((message) => ({ request: { message } })),
    )) {
      await transaction.forgetInboxMessages(
        consumer,
        messages.map(({ id }) => id),
      );
    }
    if (committed.length > 0) {
      await changeStockOfBatch(transaction, committed, counts);
      await transaction.setReservationState(
        committed.map(({ orderId }) => orderId),
        'COMMITTED',
      );
    }
    return outcomes;
  });
}

function byConsumer(batch: { request: { message: InboxMessage } }[]): Map<string, InboxMessage[]> {
  const messages = new Map<string, InboxMessage[]>();
  for (const { request } of batch) {
    const list = messages.get(request.message.consumer) ?? [];
    list.push(request.message);
    messages.set(request.message.consumer, list);
  }
  return messages;
}
