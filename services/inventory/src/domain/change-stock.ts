import type { OrderLine } from '@switchboard/contracts';
import type { InventoryTransaction } from './inventory-repository.js';
import { stockChangedEvents } from './stock-changed-events.js';
import type { StockCount } from './types.js';

/** Every stock change writes the StockChanged events of its SKUs, in its transaction. */
export async function changeStock(
  transaction: InventoryTransaction,
  counts: StockCount[],
): Promise<void> {
  await transaction.updateStock(counts);
  transaction.addToOutbox(stockChangedEvents(counts, new Date()));
}

/**
 * Writes the running counts of every SKU the orders of a batch moved, once, in SKU order,
 * with one StockChanged each: the levels after the whole batch.
 */
export function changeStockOfBatch(
  transaction: InventoryTransaction,
  orders: { items: OrderLine[] }[],
  counts: ReadonlyMap<string, StockCount>,
): Promise<void> {
  const skus = new Set(orders.flatMap(({ items }) => items.map(({ sku }) => sku)));
  return changeStock(
    transaction,
    [...skus].sort().map((sku) => counts.get(sku) as StockCount),
  );
}
