/** A line of an order or of a purchase request. */
export interface OrderItem {
  sku: string;
  quantity: number;
}

export interface PurchaseRequest {
  customerId: string;
  items: OrderItem[];
}

export interface Order {
  orderId: string;
  customerId: string;
  status: 'CONFIRMED';
  items: OrderItem[];
  /** ISO 8601, so a stored order replays byte for byte. */
  createdAt: string;
}

/**
 * The outcome of a purchase, as stored under its Idempotency-Key: an order, or a definitive
 * refusal (short stock, unknown SKU) that a retry with the same key must get again.
 */
export type PurchaseOutcome =
  | { ok: true; order: Order }
  | {
      ok: false;
      error: {
        code: 'INSUFFICIENT_STOCK' | 'INVALID_ARGUMENT';
        message: string;
        details?: Record<string, unknown>;
      };
    };
