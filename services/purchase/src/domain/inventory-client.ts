import type { OrderItem } from './order.js';

/** Stock of one SKU as the inventory service reports it. */
export interface StockLevel {
  sku: string;
  name: string;
  onHand: number;
  reserved: number;
  available: number;
}

export type ReservationState = 'RESERVED' | 'COMMITTED' | 'RELEASED';

export interface CallOptions {
  /** The caller's deadline: the inventory call must end before it. */
  deadline: Date;
  signal?: AbortSignal;
}

/**
 * What purchase needs of inventory, whatever the transport. Errors are AppError: NOT_FOUND
 * (details.skus), INSUFFICIENT_STOCK (details.skus), UNAVAILABLE, DEADLINE_EXCEEDED, ...
 */
export interface InventoryClient {
  /**
   * Idempotent by orderId: reserving again for the same order reserves nothing more and
   * returns the state of the first reservation (RELEASED if it has expired since).
   */
  reserve(
    orderId: string,
    items: OrderItem[],
    ttlSeconds: number,
    options: CallOptions,
  ): Promise<ReservationState>;
  release(orderId: string, options: CallOptions): Promise<void>;
  getStock(sku: string, options: CallOptions): Promise<StockLevel>;
  listStock(
    page: { pageSize: number; pageToken: string },
    options: CallOptions,
  ): Promise<{ stock: StockLevel[]; nextPageToken: string }>;
  /** Resolves when inventory says it can serve (its readiness); for purchase's own /readyz. */
  checkHealth(options: CallOptions): Promise<void>;
  close(): void;
}
