import type { OrderLine, ReservationState, StockChanged } from '@switchboard/contracts';
import type { Product, Reservation, Stock, StockCount, WorkOptions } from './types.js';

/**
 * The storage the inventory needs: rows read and written, no rules. The use cases
 * (inventory.ts) decide what a change does; the repository runs it in one transaction and
 * commits the StockChanged events with it (the transactional outbox), or neither.
 */
export interface InventoryRepository {
  /**
   * Runs `work` in one transaction and commits it, with the events it added to the outbox.
   * A caller whose signal aborts before the commit (say, while the work waited for a row
   * lock) gets the abort and the work is rolled back.
   */
  inTransaction<T>(
    options: WorkOptions | undefined,
    work: (transaction: InventoryTransaction) => Promise<T>,
  ): Promise<T>;
  getStock(sku: string, options?: WorkOptions): Promise<Stock | undefined>;
  /** Up to `limit` SKUs after `afterSku` (all from the start if undefined), ordered by SKU. */
  listStock(
    query: { afterSku: string | undefined; limit: number },
    options?: WorkOptions,
  ): Promise<Stock[]>;
  /** Adds new products with their stock; renames known ones but never touches their stock. */
  seedProducts(products: Product[]): Promise<void>;
}

/** What a use case may do inside its transaction. */
export interface InventoryTransaction {
  /**
   * Inserts each order's reservation, with no items, expiring `ttlSeconds` from now, unless
   * the order has one, and returns the ones it inserted. The order id is the key, so while
   * another transaction inserts the same order this one waits for it to end; the keys are
   * taken in order id order, so two transactions never wait for each other.
   */
  insertReservations(
    reservations: { orderId: string; state: ReservationState; ttlSeconds: number }[],
  ): Promise<Reservation[]>;
  /** Deletes reservations this transaction inserted and then refused. */
  deleteReservations(orderIds: string[]): Promise<void>;
  /** The order's reservation with its items; `lock` holds its row until the transaction ends. */
  readReservation(orderId: string, options: { lock: boolean }): Promise<Reservation | undefined>;
  /** The orders' reservations with their items, their rows locked in order id order. */
  lockReservations(orderIds: string[]): Promise<Map<string, Reservation>>;
  addReservationItems(reservations: { orderId: string; items: OrderLine[] }[]): Promise<void>;
  setReservationState(orderIds: string[], state: ReservationState): Promise<void>;
  /**
   * Locks up to `limit` RESERVED reservations past their expiry and returns their order ids,
   * skipping the ones another transaction holds (a replica sweeping too, a commit, a Release).
   */
  lockExpiredReservations(limit: number): Promise<string[]>;
  /** What the reservations hold, summed by SKU. */
  heldItems(orderIds: string[]): Promise<OrderLine[]>;
  /**
   * Locks the stock rows of the SKUs, always in SKU order, so two transactions over the same
   * SKUs queue instead of deadlocking; an unknown SKU has no entry.
   */
  lockStock(skus: string[]): Promise<Map<string, StockCount>>;
  /** Writes the counts of stock rows this transaction has locked. */
  updateStock(counts: StockCount[]): Promise<void>;
  /** Adds events to the outbox: they are written and committed with the transaction. */
  addToOutbox(events: StockChanged[]): void;
  /**
   * Records the consumer's messages in the inbox and returns the ids recorded now; one
   * recorded before (a second delivery) is left out. While its first delivery is in its
   * transaction, a second one waits for it on the key.
   */
  recordInboxMessages(consumer: string, messageIds: string[]): Promise<Set<string>>;
  /** Takes back messages recorded in this transaction whose change it then refused. */
  forgetInboxMessages(consumer: string, messageIds: string[]): Promise<void>;
}
