import type { OrderLine } from '@switchboard/contracts';
import type { InventoryRepository, InventoryTransaction } from './inventory-repository.js';
import { stockNotFound } from './inventory-errors.js';
import { MAX_ORDER_ID_LENGTH, requireIdentifier, validateReserve } from './request-validation.js';
import { oneAtATime, type GroupInBatches, type InBatch } from './batches.js';
import { commitTogether, type CommitRequest } from './commit-together.js';
import { reserveTogether } from './reserve-together.js';
import { changeStock } from './change-stock.js';
import { moveStock, type StockMovement } from './stock-movements.js';
import { decodePageToken, encodePageToken, resolvePageSize } from './stock-paging.js';
import { checkAvailability, releaseAction } from './stock-rules.js';
import type {
  CommitOutcome,
  InboxMessage,
  Reservation,
  ReserveCommand,
  Stock,
  StockPage,
  WorkOptions,
} from './types.js';

/** The inventory's use cases, the same for every transport that serves them. */
export interface Inventory {
  /** Reserves every item or none; idempotent by orderId. */
  reserve(command: ReserveCommand, options?: WorkOptions): Promise<Reservation>;
  /** Gives the held stock back; idempotent, and an order not seen yet gets a tombstone. */
  release(orderId: string, options?: WorkOptions): Promise<Reservation>;
  getStock(sku: string, options?: WorkOptions): Promise<Stock>;
  listStock(
    query: { pageSize: number; pageToken: string },
    options?: WorkOptions,
  ): Promise<StockPage>;
  /** The order was confirmed (OrderConfirmed): its held stock leaves the shelf, once. */
  commit(orderId: string, message: InboxMessage): Promise<CommitOutcome>;
  /** Gives back the stock of reservations whose order was not confirmed within their TTL. */
  releaseExpired(limit: number): Promise<number>;
}

/**
 * Every change is one transaction that first locks what it checks (the stock rows of an
 * order, in SKU order), so no two changes can sell the same unit, and that writes its
 * StockChanged events to the outbox with the change.
 */
export function createInventory(
  repository: InventoryRepository,
  options: { groupInBatches?: GroupInBatches } = {},
): Inventory {
  const groupInBatches = options.groupInBatches ?? oneAtATime;
  const reserveInBatches = groupInBatches(
    'reserve',
    (batch: InBatch<ReserveCommand>[]) => reserveTogether(repository, batch),
    (command) => command.orderId,
  );
  const commitInBatches = groupInBatches(
    'commit',
    (batch: InBatch<CommitRequest>[]) => commitTogether(repository, batch),
    (request) => request.orderId,
  );
  return {
    reserve(command, options) {
      return reserveInBatches(validateReserve(command), options?.signal);
    },

    release(orderId, options) {
      requireIdentifier('Release request', 'order_id', orderId, MAX_ORDER_ID_LENGTH);
      return repository.inTransaction(options, async (transaction) => {
        // A Release can overtake the Reserve it undoes (the caller gave up on a Reserve still
        // in flight, or the Reserve is retried later). So an order with no reservation gets a
        // RELEASED one with no items, a tombstone (ADR 12): its Reserve, whenever it comes,
        // finds the order released and holds nothing. If a Reserve of the order is in its
        // transaction right now, this insert waits for it on the key and then does nothing.
        const [tombstone] = await transaction.insertReservations([
          { orderId, state: 'RELEASED', ttlSeconds: 0 },
        ]);
        if (tombstone) return tombstone;

        // The row lock makes a concurrent Release (or a commit) of the same order wait.
        const stored = await transaction.readReservation(orderId, { lock: true });
        if (!stored) throw new Error(`reservation ${orderId} conflicted but cannot be read`);
        if (releaseAction(stored) === 'unchanged') return stored;

        await moveHeldStock(transaction, stored.items, 'give-back');
        await transaction.setReservationState([orderId], 'RELEASED');
        return { ...stored, state: 'RELEASED' };
      });
    },

    commit(orderId, message) {
      // The event id becomes the inbox's key: it must be text Postgres keeps, as an order id.
      requireIdentifier('OrderConfirmed', 'event_id', message.id, MAX_ORDER_ID_LENGTH);
      requireIdentifier('OrderConfirmed', 'order_id', orderId, MAX_ORDER_ID_LENGTH);
      return commitInBatches({ orderId, message });
    },

    releaseExpired(limit) {
      return repository.inTransaction(undefined, async (transaction) => {
        const orderIds = await transaction.lockExpiredReservations(limit);
        if (orderIds.length === 0) return 0;
        await moveHeldStock(transaction, await transaction.heldItems(orderIds), 'give-back');
        await transaction.setReservationState(orderIds, 'RELEASED');
        return orderIds.length;
      });
    },

    async getStock(sku, options) {
      const stock = await repository.getStock(
        requireIdentifier('GetStock request', 'sku', sku),
        options,
      );
      if (!stock) throw stockNotFound(sku);
      return stock;
    },

    async listStock({ pageSize, pageToken }, options) {
      const size = resolvePageSize(pageSize);
      const afterSku = decodePageToken(pageToken);
      // One row more than the page tells whether another page follows.
      const rows = await repository.listStock({ afterSku, limit: size + 1 }, options);
      const stock = rows.slice(0, size);
      const last = stock.at(-1);
      return { stock, nextPageToken: rows.length > size && last ? encodePageToken(last.sku) : '' };
    },
  };
}

/**
 * Moves the stock a reservation holds (or held): locks its rows, checks that a released
 * reservation's units are there to take again (else INSUFFICIENT_STOCK: never oversold), and
 * changes them.
 */
async function moveHeldStock(
  transaction: InventoryTransaction,
  items: OrderLine[],
  movement: StockMovement,
): Promise<void> {
  const locked = await transaction.lockStock(skusOf(items));
  if (movement === 'take-again') checkAvailability(items, locked);
  await changeStock(transaction, moveStock(locked, items, movement));
}

function skusOf(items: OrderLine[]): string[] {
  return items.map(({ sku }) => sku);
}
