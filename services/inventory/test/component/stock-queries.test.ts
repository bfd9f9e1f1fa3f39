import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  failureOf,
  freshDatabase,
  givenStock,
  inSeconds,
  inventoryOnFreshDatabase,
  postgresOfThisFile,
  startInventoryApp,
  type InventoryClient,
  type InventoryUnderTest,
} from '../support/inventory-under-test.js';

let db: pg.Pool;
let inventory: InventoryUnderTest;

// This file owns its database, so ListStock sees exactly the SKUs arranged here.
beforeAll(async () => {
  ({ db, inventory } = await inventoryOnFreshDatabase('stock_queries'));
  await givenStock(db, { 'sku-a': 5, 'sku-b': 4, 'sku-c': 3, 'sku-d': 2, 'sku-e': 1 });
  await inventory.client.reserve(
    { orderId: 'order-1', items: [{ sku: 'sku-b', quantity: 3 }], ttlSeconds: 60 },
    inSeconds(5),
  );
});

async function allPages(client: InventoryClient, pageSize: number) {
  const pages: string[][] = [];
  let pageToken = '';
  do {
    const page = await client.listStock({ pageSize, pageToken }, inSeconds(5));
    pages.push(page.stock.map(({ sku }) => sku));
    pageToken = page.nextPageToken;
  } while (pageToken !== '' && pages.length < 100);
  return pages;
}

describe('GetStock', () => {
  it('reports what is on hand, reserved and available', async () => {
    const { stock } = await inventory.client.getStock({ sku: 'sku-b' }, inSeconds(5));

    expect(stock).toEqual({
      sku: 'sku-b',
      name: 'Product sku-b',
      onHand: 4,
      reserved: 3,
      available: 1,
    });
  });

  it('for an unknown SKU, answers NOT_FOUND naming it', async () => {
    const error = await failureOf(inventory.client.getStock({ sku: 'sku-nope' }, inSeconds(5)));

    expect(error).toMatchObject({ code: 'NOT_FOUND', details: { skus: ['sku-nope'] } });
    expect((error as Error).message).toContain('sku-nope');
  });

  it('for a SKU with a NUL, answers INVALID_ARGUMENT naming it, not INTERNAL', async () => {
    // The NUL used to reach Postgres, which refused it: INTERNAL, for the caller's mistake.
    const error = await failureOf(inventory.client.getStock({ sku: 'a\u0000b' }, inSeconds(5)));

    expect(error).toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: { problems: [expect.objectContaining({ field: 'sku' })] },
    });
  });
});

describe('ListStock', () => {
  it('pages through every SKU in order and ends with an empty token', async () => {
    expect(await allPages(inventory.client, 2)).toEqual([
      ['sku-a', 'sku-b'],
      ['sku-c', 'sku-d'],
      ['sku-e'],
    ]);
  });

  it('ends on a full last page without an empty page after it', async () => {
    expect(await allPages(inventory.client, 5)).toEqual([
      ['sku-a', 'sku-b', 'sku-c', 'sku-d', 'sku-e'],
    ]);
  });

  it('reports the same figures as GetStock', async () => {
    const page = await inventory.client.listStock({ pageSize: 2, pageToken: '' }, inSeconds(5));

    expect(page.stock[1]).toEqual({
      sku: 'sku-b',
      name: 'Product sku-b',
      onHand: 4,
      reserved: 3,
      available: 1,
    });
  });

  it('rejects a page token it did not hand out with INVALID_ARGUMENT', async () => {
    for (const pageToken of ['not a token!', 'c2t1LWE=', 'wyg']) {
      const error = await failureOf(
        inventory.client.listStock({ pageSize: 2, pageToken }, inSeconds(5)),
      );

      expect(error, pageToken).toMatchObject({
        code: 'INVALID_ARGUMENT',
        details: { problems: [{ field: 'page_token', message: expect.any(String) }] },
      });
    }
  });

  it('rejects a negative page size with INVALID_ARGUMENT', async () => {
    const error = await failureOf(
      inventory.client.listStock({ pageSize: -1, pageToken: '' }, inSeconds(5)),
    );

    expect(error).toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: { problems: [{ field: 'page_size' }] },
    });
  });

  it('serves 100 SKUs for page size 0 and at most 500 for a larger size', async () => {
    const many = await freshDatabase(await postgresOfThisFile(), 'many_skus');
    await using big = await startInventoryApp(many.url);
    await many.pool.query(
      `WITH many AS (SELECT 'sku-' || lpad(n::text, 4, '0') AS sku FROM generate_series(1, 600) AS n)
       , products AS (INSERT INTO products (sku, name) SELECT sku, sku FROM many)
       INSERT INTO stock (sku, on_hand) SELECT sku, 1 FROM many`,
    );
    await many.pool.end();

    const byDefault = await big.client.listStock({ pageSize: 0, pageToken: '' }, inSeconds(5));
    const capped = await big.client.listStock({ pageSize: 10_000, pageToken: '' }, inSeconds(5));

    expect(byDefault.stock).toHaveLength(100);
    expect(byDefault.nextPageToken).not.toBe('');
    expect(capped.stock).toHaveLength(500);
    expect(capped.stock.at(-1)?.sku).toBe('sku-0500');
    expect(capped.nextPageToken).not.toBe('');
  });
});
