// A line of an order or of a purchase request is an OrderLine: the contract's name, shared
// with inventory and its clients.
import type { OrderLine } from '@switchboard/contracts';

export interface PurchaseRequest {
  customerId: string;
  items: OrderLine[];
}

export interface Order {
  orderId: string;
  customerId: string;
  status: 'CONFIRMED';
  items: OrderLine[];
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
