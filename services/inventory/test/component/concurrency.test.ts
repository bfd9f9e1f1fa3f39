import type pg from 'pg';
import { histogramSumAndCount } from '@switchboard/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  givenStock,
  inSeconds,
  inventoryOnFreshDatabase,
  stockRow,
  unique,
  type InventoryUnderTest,
} from '../support/inventory-under-test.js';

let db: pg.Pool;
let inventory: InventoryUnderTest;

beforeAll(async () => {
  // These tests are about locking, not load shedding: every call may wait for a connection.
  ({ db, inventory } = await inventoryOnFreshDatabase('concurrency', {
    ADMISSION_QUEUE_SIZE: '1000',
    ADMISSION_QUEUE_TIMEOUT_MS: '30000',
  }));
});

/** Settles every call and counts the outcomes by AppError code (OK for a success). */
async function outcomes(calls: Promise<unknown>[]): Promise<Record<string, number>> {
  const settled = await Promise.allSettled(calls);
  const counts: Record<string, number> = {};
  for (const result of settled) {
    const code =
      result.status === 'fulfilled' ? 'OK' : String((result.reason as { code?: unknown }).code);
    counts[code] = (counts[code] ?? 0) + 1;
  }
  return counts;
}

/** The group commit's histogram: Reserves run, and the transactions they shared. */
async function reserveBatches(): Promise<{ reserves: number; batches: number }> {
  const text = await inventory.registry.getSingleMetricAsString('inventory_batch_size');
  const { sum, count } = histogramSumAndCount(text, 'inventory_batch_size', 'use_case="reserve"');
  return { reserves: sum, batches: count };
}

describe('Reserve under concurrent load', () => {
  it('never oversells: 200 orders of one unit for 50 in stock, exactly 50 succeed', async () => {
    const poster = unique('limited-poster');
    await givenStock(db, { [poster]: 50 });
    const before = await reserveBatches();

    const counts = await outcomes(
      Array.from({ length: 200 }, (_, index) =>
        inventory.client.reserve(
          {
            orderId: unique(`order-${index}`),
            items: [{ sku: poster, quantity: 1 }],
            ttlSeconds: 60,
          },
          inSeconds(30),
        ),
      ),
    );

    expect(counts).toEqual({ OK: 50, INSUFFICIENT_STOCK: 150 });
    const stock = await stockRow(db, poster);
    expect(stock).toEqual({ onHand: 50, reserved: 50 });
    expect(stock.onHand - stock.reserved).toBe(0);
    const held = await db.query<{ orders: number; units: number }>(
      `SELECT count(*)::int AS orders, sum(quantity)::int AS units FROM reservation_items WHERE sku = $1`,
      [poster],
    );
    expect(held.rows[0]).toEqual({ orders: 50, units: 50 });
    // Group commit (ADR 28): the 200 Reserves shared fewer transactions than 200.
    const after = await reserveBatches();
    expect(after.reserves - before.reserves).toBe(200);
    expect(after.batches - before.batches).toBeLessThan(200);
  });

  it('finishes orders that name the same SKUs in opposite orders without deadlock', async () => {
    const skus = [unique('sku-x'), unique('sku-y'), unique('sku-z')];
    await givenStock(db, Object.fromEntries(skus.map((sku) => [sku, 1000])));

    const counts = await outcomes(
      Array.from({ length: 20 }, (_, index) => {
        const ordered = index % 2 === 0 ? skus : skus.toReversed();
        return inventory.client.reserve(
          {
            orderId: unique('order'),
            items: ordered.map((sku) => ({ sku, quantity: 2 })),
            ttlSeconds: 60,
          },
          inSeconds(30),
        );
      }),
    );

    expect(counts).toEqual({ OK: 20 });
    for (const sku of skus) expect(await stockRow(db, sku)).toEqual({ onHand: 1000, reserved: 40 });
  });

  it('keeps the books right while orders are reserved and released at the same time', async () => {
    const [mug, bag] = [unique('mug'), unique('bag')];
    await givenStock(db, { [mug]: 30, [bag]: 30 });
    const items = [
      { sku: mug, quantity: 1 },
      { sku: bag, quantity: 1 },
    ];
    const first = Array.from({ length: 20 }, () => unique('order'));
    await Promise.all(
      first.map((orderId) =>
        inventory.client.reserve({ orderId, items, ttlSeconds: 60 }, inSeconds(30)),
      ),
    );

    // Release the first 20 while 20 more reserve the reversed items.
    const counts = await outcomes([
      ...first.map((orderId) => inventory.client.release({ orderId }, inSeconds(30))),
      ...Array.from({ length: 20 }, () =>
        inventory.client.reserve(
          { orderId: unique('order'), items: items.toReversed(), ttlSeconds: 60 },
          inSeconds(30),
        ),
      ),
    ]);

    expect(counts).toEqual({ OK: 40 });
    expect(await stockRow(db, mug)).toEqual({ onHand: 30, reserved: 20 });
    expect(await stockRow(db, bag)).toEqual({ onHand: 30, reserved: 20 });
  });
});
