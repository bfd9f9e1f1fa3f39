import type { OrderLine, ReservationState } from '@switchboard/contracts';

/**
 * The inventory's own vocabulary; the entry points translate their messages to and from it.
 * OrderLine and ReservationState are the contract's (one definition, shared with the clients).
 */

export interface Reservation {
  orderId: string;
  /** Sorted by SKU, so the same reservation always reads the same. */
  items: OrderLine[];
  state: ReservationState;
  expiresAt: Date;
}

/** on_hand is on the shelf; reserved of it is held for orders; available = onHand - reserved. */
export interface Stock {
  sku: string;
  name: string;
  onHand: number;
  reserved: number;
  available: number;
}

/**
 * One SKU's counts as a transaction locked them: on the shelf, and held of it for orders. What
 * the rules check and change; Stock is what a reader is told.
 */
export interface StockCount {
  sku: string;
  onHand: number;
  reserved: number;
}

export interface Product {
  sku: string;
  name: string;
  /** Stock a new product starts with; seeding never changes the stock of a known product. */
  onHand: number;
}

export interface ReserveCommand {
  orderId: string;
  items: OrderLine[];
  ttlSeconds: number;
}

export interface StockPage {
  stock: Stock[];
  /** Empty on the last page. */
  nextPageToken: string;
}

/** Lets a caller who has gone away stop work that has not started yet. */
export interface WorkOptions {
  signal?: AbortSignal;
}

/**
 * A message that asks for a change, recorded with the change so that a second delivery of
 * the same message changes nothing (the inbox).
 */
export interface InboxMessage {
  /** Who consumes it (the durable consumer's name). */
  consumer: string;
  /** The message's id: the event id, which is also its Nats-Msg-Id. */
  id: string;
}

/** What a commit did: the first delivery commits; any later one finds it done. */
export type CommitOutcome =
  | { kind: 'committed'; reservation: Reservation }
  | { kind: 'already-committed'; reservation: Reservation }
  | { kind: 'duplicate-message' };
