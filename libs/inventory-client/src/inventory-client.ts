import type { OrderLine, ReservationState } from '@switchboard/contracts';

/** Stock of one SKU as the inventory service reports it; available = onHand - reserved. */
export interface Stock {
  sku: string;
  name: string;
  onHand: number;
  reserved: number;
  available: number;
}

export interface CallOptions {
  /** The caller's deadline: the inventory call must end before it, and the server drops it after. */
  deadline: Date;
  signal?: AbortSignal;
}

/**
 * What callers need of inventory, whatever the transport. Errors are AppError: NOT_FOUND
 * (details.skus), INSUFFICIENT_STOCK (details.skus), INVALID_ARGUMENT, UNAVAILABLE,
 * DEADLINE_EXCEEDED, CANCELLED, ...
 */
export interface InventoryClient {
  /**
   * Idempotent by orderId: reserving again for the same order reserves nothing more and
   * returns the state of the first reservation (RELEASED if it has expired since).
   */
  reserve(
    orderId: string,
    items: OrderLine[],
    ttlSeconds: number,
    options: CallOptions,
  ): Promise<ReservationState>;
  release(orderId: string, options: CallOptions): Promise<void>;
  getStock(sku: string, options: CallOptions): Promise<Stock>;
  listStock(
    page: { pageSize: number; pageToken: string },
    options: CallOptions,
  ): Promise<{ stock: Stock[]; nextPageToken: string }>;
  /**
   * The SKU's stock now, then again after every change, until `signal` aborts; the iteration
   * then ends quietly and the server frees the stream. An unknown SKU fails with NOT_FOUND.
   */
  watchStock(sku: string, options: { signal: AbortSignal }): AsyncIterable<Stock>;
  /** Resolves when inventory says it can serve (its readiness); for the caller's /readyz. */
  checkHealth(options: CallOptions): Promise<void>;
  close(): void;
}
