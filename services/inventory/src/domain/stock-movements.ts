import type { OrderLine } from '@switchboard/contracts';
import { bySku } from './stock-rules.js';
import type { StockCount } from './types.js';

/**
 * What a change does to the stock of each of its items, per unit:
 * - hold: a Reserve holds the units (reserved rises);
 * - give-back: a Release or an expiry gives them back (reserved drops);
 * - take-held: a commit takes the held units off the shelf (reserved and on hand drop);
 * - take-again: a commit of a reservation released meanwhile takes them from what is
 *   available (on hand drops; checkAvailability first).
 */
export type StockMovement = 'hold' | 'give-back' | 'take-held' | 'take-again';

const PER_UNIT: Record<StockMovement, { reserved: number; onHand: number }> = {
  hold: { reserved: +1, onHand: 0 },
  'give-back': { reserved: -1, onHand: 0 },
  'take-held': { reserved: -1, onHand: -1 },
  'take-again': { reserved: 0, onHand: -1 },
};

/**
 * The counts of the items' SKUs after the movement, in SKU order. Throws (a bug, not a
 * refusal: INTERNAL) if a SKU was not locked or the counts would break 0 <= reserved <=
 * on hand; the database's CHECK stays the last line.
 */
export function moveStock(
  locked: ReadonlyMap<string, StockCount>,
  items: OrderLine[],
  movement: StockMovement,
): StockCount[] {
  const perUnit = PER_UNIT[movement];
  return items.toSorted(bySku).map(({ sku, quantity }) => {
    const count = locked.get(sku);
    if (!count) throw new Error(`the stock of ${sku} was not locked before it was moved`);
    const moved = {
      sku,
      onHand: count.onHand + perUnit.onHand * quantity,
      reserved: count.reserved + perUnit.reserved * quantity,
    };
    if (moved.reserved < 0 || moved.reserved > moved.onHand) {
      throw new Error(
        `${movement} of ${quantity} ${sku} would leave ${moved.reserved} reserved of ${moved.onHand} on hand`,
      );
    }
    return moved;
  });
}
