import type { OrderLine } from '@switchboard/contracts';
import {
  insufficientStock,
  reservationAlreadyCommitted,
  reservationConflict,
  unknownSkus,
} from './inventory-errors.js';
import type { Reservation, StockCount } from './types.js';

/**
 * All or nothing: checks every item against the stock locked for it and throws for the whole
 * order, naming every unknown SKU (NOT_FOUND) or else every short one (INSUFFICIENT_STOCK).
 */
export function checkAvailability(
  items: OrderLine[],
  stock: ReadonlyMap<string, StockCount>,
): void {
  const unknown = items.filter(({ sku }) => !stock.has(sku)).map(({ sku }) => sku);
  if (unknown.length > 0) throw unknownSkus(unknown.sort());
  const short = items
    .filter(({ sku, quantity }) => {
      const level = stock.get(sku);
      return level !== undefined && level.onHand - level.reserved < quantity;
    })
    .map(({ sku }) => sku);
  if (short.length > 0) throw insufficientStock(short.sort());
}

/** Orders by SKU, by UTF-16 code unit: the same in every locale. */
export function bySku(a: { sku: string }, b: { sku: string }): number {
  return a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0;
}

export function sortItems(items: OrderLine[]): OrderLine[] {
  return items.toSorted(bySku);
}

export function sameItems(a: OrderLine[], b: OrderLine[]): boolean {
  if (a.length !== b.length) return false;
  const sortedB = sortItems(b);
  return sortItems(a).every(
    (item, index) => item.sku === sortedB[index]?.sku && item.quantity === sortedB[index]?.quantity,
  );
}

/**
 * What a Reserve for an order that already has a reservation gets: the stored reservation if
 * it asked for the same items (Reserve is idempotent), else ALREADY_EXISTS. A tombstone (the
 * order was released before its Reserve arrived: RELEASED, no items) answers RELEASED
 * whatever the items: the caller gave the order up, so nothing is held for it.
 */
export function answerRepeatedReserve(stored: Reservation, requested: OrderLine[]): Reservation {
  if (isTombstone(stored)) return stored;
  if (!sameItems(stored.items, requested)) throw reservationConflict(stored.orderId);
  return stored;
}

/** The mark a Release leaves for an order it has not seen: RELEASED, holding no items. */
export function isTombstone(reservation: Reservation): boolean {
  return reservation.state === 'RELEASED' && reservation.items.length === 0;
}

/**
 * Release moves RESERVED to RELEASED and gives the stock back; a RELEASED reservation is
 * answered unchanged (releasing twice is not an error); a COMMITTED one cannot be released.
 */
export function releaseAction(reservation: Reservation): 'give-back' | 'unchanged' {
  switch (reservation.state) {
    case 'RESERVED':
      return 'give-back';
    case 'RELEASED':
      return 'unchanged';
    case 'COMMITTED':
      throw reservationAlreadyCommitted(reservation.orderId);
  }
}

/**
 * What committing an order's reservation (its OrderConfirmed arrived) does to the stock:
 * - RESERVED: the held units leave the shelf (reserved and on hand both drop);
 * - COMMITTED: nothing, it was committed before (the event came twice);
 * - RELEASED: the hold ran out before the confirmation came (its TTL passed, say during a
 *   long broker outage), yet the customer has an order: take the units again from what is
 *   available, if there are enough, else fail the commit (INSUFFICIENT_STOCK). Nothing is
 *   ever oversold.
 */
export function commitAction(reservation: Reservation): 'take-held' | 'take-again' | 'unchanged' {
  switch (reservation.state) {
    case 'RESERVED':
      return 'take-held';
    case 'COMMITTED':
      return 'unchanged';
    case 'RELEASED':
      return 'take-again';
  }
}
