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
   * Unlocks the key after a transient failure (inventory down, deadline): the client's retry
   * takes it over with the same order id, so a Reserve that did land is not made twice.
   */
  unlockKey(key: string, orderId: string): Promise<void>;
  /** Forgets the key, so a retry starts over under a new order id. */
  deleteKey(key: string, orderId: string): Promise<void>;
  findOrder(orderId: string): Promise<Order | undefined>;
}
