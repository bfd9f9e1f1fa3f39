import { stockNotFound } from './inventory-errors.js';
import { MAX_ORDER_ID_LENGTH, requireIdentifier, validateReserve } from './request-validation.js';
import { decodePageToken, encodePageToken, resolvePageSize } from './stock-paging.js';
import type {
  CommitOutcome,
  InboxMessage,
  Product,
  Reservation,
  ReserveCommand,
  Stock,
  StockPage,
  WorkOptions,
} from './types.js';

/**
 * The storage the inventory needs. An implementation keeps each call atomic and applies the
 * rules of stock-rules.ts inside its transaction, where the stock it checks is locked.
 */
export interface InventoryRepository {
  /** Reserves every item or none; idempotent by orderId. Expects a validated command. */
  reserve(command: ReserveCommand, options?: WorkOptions): Promise<Reservation>;
  release(orderId: string, options?: WorkOptions): Promise<Reservation>;
  getStock(sku: string, options?: WorkOptions): Promise<Stock | undefined>;
  /** Up to `limit` SKUs after `afterSku` (all from the start if undefined), ordered by SKU. */
  listStock(
    query: { afterSku: string | undefined; limit: number },
    options?: WorkOptions,
  ): Promise<Stock[]>;
  /** Adds new products with their stock; renames known ones but never touches their stock. */
  seedProducts(products: Product[]): Promise<void>;
  /**
   * Commits the order's reservation (stock-rules.ts commitAction) and records the message
   * that asked for it, in one transaction; a message recorded before changes nothing.
   */
  commit(orderId: string, message: InboxMessage): Promise<CommitOutcome>;
  /** Releases up to `limit` RESERVED reservations past their expiry; returns how many. */
  releaseExpired(limit: number): Promise<number>;
}

/** The inventory's use cases, the same for every transport that serves them. */
export interface Inventory {
  reserve(command: ReserveCommand, options?: WorkOptions): Promise<Reservation>;
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

export function createInventory(repository: InventoryRepository): Inventory {
  return {
    reserve(command, options) {
      return repository.reserve(validateReserve(command), options);
    },

    release(orderId, options) {
      return repository.release(
        requireIdentifier('Release request', 'order_id', orderId, MAX_ORDER_ID_LENGTH),
        options,
      );
    },

    commit(orderId, message) {
      // The event id becomes the inbox's key: it must be text Postgres keeps, as an order id.
      requireIdentifier('OrderConfirmed', 'event_id', message.id, MAX_ORDER_ID_LENGTH);
      return repository.commit(
        requireIdentifier('OrderConfirmed', 'order_id', orderId, MAX_ORDER_ID_LENGTH),
        message,
      );
    },

    releaseExpired(limit) {
      return repository.releaseExpired(limit);
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
