import type { Order, PurchaseOutcome } from './order.js';

/** What happened when a request tried to claim its Idempotency-Key. */
export type KeyClaim =
  /** This request owns the key (first use, or the previous owner's lock ran out). */
  | { kind: 'owned'; orderId: string }
  /** The key has a stored outcome: replay it. */
  | { kind: 'completed'; outcome: PurchaseOutcome }
  /** Another request with this key is still running. */
  | { kind: 'in-progress' }
  /** The key was used with a different request body. */
  | { kind: 'mismatch' };

/** Orders and idempotency keys, in purchase's own database. */
export interface OrderStore {
  claimKey(key: string, fingerprint: string, newOrderId: string, lockMs: number): Promise<KeyClaim>;
  /** Stores the order and completes the key in one transaction. */
  saveOrder(key: string, order: Order): Promise<void>;
  /** Completes the key with a definitive refusal. */
  saveRefusal(key: string, orderId: string, outcome: PurchaseOutcome): Promise<void>;
  /**
   * Forgets the key after a failure that stored no answer, so a retry starts over under a new
   * order id (the old one's reservation is being released).
   */
  deleteKey(key: string, orderId: string): Promise<void>;
  findOrder(orderId: string): Promise<Order | undefined>;
}
