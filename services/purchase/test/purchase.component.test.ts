import { randomUUID } from 'node:crypto';
import type { StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import {
  createDatabase,
  databaseUrlInNetwork,
  startInventory,
  startPostgres,
} from '@switchboard/testing';
import pg from 'pg';
import {
  Network,
  getContainerRuntimeClient,
  type StartedNetwork,
  type StartedTestContainer,
} from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PurchaseApp } from '../src/app.js';
import { send, startPurchase } from './purchase-app.js';

// purchase runs in-process; inventory is the real service in its container; both databases
// live on one real Postgres server.
let network: StartedNetwork;
let postgres: StartedPostgreSqlContainer;
let inventory: StartedTestContainer & { grpcTarget: string };
let purchase: { app: PurchaseApp; baseUrl: string; opsUrl: string };
let db: pg.Pool;

const PRODUCTS = [
  { sku: 'sku-mug', name: 'Mug', onHand: 100 },
  { sku: 'sku-cap', name: 'Cap', onHand: 3 },
  { sku: 'sku-poster', name: 'Poster', onHand: 50 },
  { sku: 'sku-pin', name: 'Pin', onHand: 100 },
];

beforeAll(async () => {
  network = await new Network().start();
  postgres = await startPostgres({ network });
  await createDatabase(postgres, 'inventory');
  const purchaseDb = await createDatabase(postgres, 'purchase');
  inventory = await startInventory({
    network,
    databaseUrl: databaseUrlInNetwork('inventory'),
    products: PRODUCTS,
  });
  purchase = await startPurchase({
    DATABASE_URL: purchaseDb,
    INVENTORY_TARGET: inventory.grpcTarget,
    DB_POOL_MAX: '20',
  });
  db = new pg.Pool({ connectionString: purchaseDb });
}, 600_000);

afterAll(async () => {
  await db?.end();
  await purchase?.app.stop();
  await inventory?.stop();
  await postgres?.stop();
  await network?.stop();
});

const buy = (key: string | undefined, body: unknown) =>
  send(`${purchase.baseUrl}/v1/purchases`, {
    method: 'POST',
    headers: key === undefined ? {} : { 'idempotency-key': key },
    body,
  });
const available = async (sku: string) =>
  (await send(`${purchase.baseUrl}/v1/stock/${sku}`)).body.available as number;
const ordersFor = async (sku: string) =>
  Number((await db.query('SELECT count(*) FROM order_items WHERE sku = $1', [sku])).rows[0].count);

describe('POST /v1/purchases', () => {
  it('answers 201 with the order, stores it, and reserves its stock', async () => {
    const before = await available('sku-mug');
    const reply = await buy(randomUUID(), {
      customerId: 'c-1',
      items: [{ sku: 'sku-mug', quantity: 2 }],
    });
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({
      customerId: 'c-1',
      status: 'CONFIRMED',
      items: [{ sku: 'sku-mug', quantity: 2 }],
    });
    expect(reply.headers.get('location')).toBe(`/v1/purchases/${reply.body.orderId}`);
    const stored = await send(`${purchase.baseUrl}/v1/purchases/${reply.body.orderId}`);
    expect(stored.status).toBe(200);
    expect(stored.body).toEqual(reply.body);
    expect(await available('sku-mug')).toBe(before - 2);
  });

  it('when the same Idempotency-Key comes again, returns the stored response and reserves nothing more', async () => {
    const key = randomUUID();
    const body = { customerId: 'c-2', items: [{ sku: 'sku-mug', quantity: 1 }] };
    const first = await buy(key, body);
    const afterFirst = await available('sku-mug');
    const again = await buy(key, body);
    expect(again.status).toBe(first.status);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await available('sku-mug')).toBe(afterFirst);
  });

  it('when the same Idempotency-Key comes with a different body, answers 422 and reserves nothing', async () => {
    const key = randomUUID();
    await buy(key, { customerId: 'c-3', items: [{ sku: 'sku-mug', quantity: 1 }] });
    const before = await available('sku-mug');
    const reply = await buy(key, { customerId: 'c-3', items: [{ sku: 'sku-mug', quantity: 5 }] });
    expect(reply.status).toBe(422);
    expect(reply.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await available('sku-mug')).toBe(before);
  });

  it('when stock is short, answers 409 naming the SKU and reserves none of the items', async () => {
    const mugs = await available('sku-mug');
    const reply = await buy(randomUUID(), {
      customerId: 'c-4',
      items: [
        { sku: 'sku-mug', quantity: 1 },
        { sku: 'sku-cap', quantity: 4 },
      ],
    });
    expect(reply.status).toBe(409);
    expect(reply.body.error).toMatchObject({
      code: 'INSUFFICIENT_STOCK',
      details: { skus: ['sku-cap'] },
    });
    expect(reply.body.error.message).toContain('sku-cap');
    expect(await available('sku-mug')).toBe(mugs);
    expect(await available('sku-cap')).toBe(3);
  });

  it('when a SKU is unknown, answers 400 naming the item', async () => {
    const reply = await buy(randomUUID(), {
      customerId: 'c-5',
      items: [{ sku: 'sku-nope', quantity: 1 }],
    });
    expect(reply.status).toBe(400);
    expect(reply.body.error.details.problems).toEqual([
      { field: '/items/0/sku', message: 'unknown SKU sku-nope' },
    ]);
  });

  it('when the body is invalid, answers 400 listing every problem', async () => {
    const reply = await buy(randomUUID(), {
      items: [
        { sku: 'sku-mug', quantity: -1 },
        { sku: '', quantity: 1.5 },
      ],
      coupon: 'FREE',
    });
    expect(reply.status).toBe(400);
    const fields = (reply.body.error.details.problems as { field: string }[]).map(
      (problem) => problem.field,
    );
    expect(fields).toEqual(
      expect.arrayContaining([
        '/customerId',
        '/items/0/quantity',
        '/items/1/sku',
        '/items/1/quantity',
        '/coupon',
      ]),
    );
  });

  it('when the Idempotency-Key header is missing, answers 400 naming it', async () => {
    const reply = await buy(undefined, {
      customerId: 'c-6',
      items: [{ sku: 'sku-mug', quantity: 1 }],
    });
    expect(reply.status).toBe(400);
    expect(reply.body.error.details.problems).toEqual([
      expect.objectContaining({ field: 'idempotency-key' }),
    ]);
  });

  it('when the JSON is malformed, answers 400 naming the body', async () => {
    const reply = await send(`${purchase.baseUrl}/v1/purchases`, {
      method: 'POST',
      headers: { 'idempotency-key': randomUUID() },
      rawBody: '{"customerId": "c-7", "items": [',
    });
    expect(reply.status).toBe(400);
    expect(reply.body.error.details.problems).toEqual([
      { field: 'body', message: 'is not valid JSON' },
    ]);
  });

  it('when a SKU appears twice, answers 400 naming the second one', async () => {
    const reply = await buy(randomUUID(), {
      customerId: 'c-8',
      items: [
        { sku: 'sku-mug', quantity: 1 },
        { sku: 'sku-mug', quantity: 2 },
      ],
    });
    expect(reply.status).toBe(400);
    expect(reply.body.error.details.problems).toEqual([
      { field: '/items/1/sku', message: 'SKU sku-mug appears twice' },
    ]);
  });
});

describe('under concurrent load', () => {
  it('200 parallel purchases of 1 unit against a stock of 50: exactly 50 get 201, the rest 409', async () => {
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, index) =>
        buy(randomUUID(), {
          customerId: `load-${index}`,
          items: [{ sku: 'sku-poster', quantity: 1 }],
        }),
      ),
    );
    const statuses = replies.map((reply) => reply.status);
    expect(replies.filter((reply) => reply.status !== 201 && reply.status !== 409)).toEqual([]);
    expect(statuses.filter((status) => status === 201)).toHaveLength(50);
    expect(statuses.filter((status) => status === 409)).toHaveLength(150);
    expect(await available('sku-poster')).toBe(0);
    expect(await ordersFor('sku-poster')).toBe(50);
  });
});

describe('reads', () => {
  it('GET /v1/stock lists every SKU; GET /v1/stock/:sku of an unknown SKU is 404', async () => {
    const list = await send(`${purchase.baseUrl}/v1/stock`);
    expect(list.status).toBe(200);
    expect((list.body.stock as { sku: string }[]).map((stock) => stock.sku)).toEqual(
      PRODUCTS.map((product) => product.sku).sort(),
    );
    const missing = await send(`${purchase.baseUrl}/v1/stock/sku-nope`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
  });

  it('GET /v1/purchases/:id of an unknown order is 404', async () => {
    const reply = await send(`${purchase.baseUrl}/v1/purchases/${randomUUID()}`);
    expect(reply.status).toBe(404);
  });

  it('the ops port reports ready and serves HTTP durations and process metrics', async () => {
    expect((await send(`${purchase.opsUrl}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${purchase.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(
      /http_server_request_duration_seconds_count\{[^}]*route="\/v1\/purchases"[^}]*status_code="201"/,
    );
    expect(metrics).toContain('process_resident_memory_bytes');
    expect(metrics).toMatch(/grpc_client_handled_total\{[^}]*grpc_method="Reserve"/);
  });
});

describe('when inventory fails', () => {
  it('answers 503 at once when nothing answers at the inventory address', async () => {
    const orphan = await startPurchase({
      DATABASE_URL: await createDatabase(postgres, 'purchase_orphan'),
      INVENTORY_TARGET: 'dns:///127.0.0.1:1',
    });
    try {
      const started = performance.now();
      const reply = await send(`${orphan.baseUrl}/v1/purchases`, {
        method: 'POST',
        headers: { 'idempotency-key': randomUUID() },
        body: { customerId: 'c-9', items: [{ sku: 'sku-mug', quantity: 1 }] },
      });
      expect(reply.status).toBe(503);
      expect(reply.headers.get('retry-after')).toBe('1');
      expect(reply.body.error.code).toBe('UNAVAILABLE');
      // "At once" means well before the request deadline; the exact time is for benchmarks.
      expect(performance.now() - started).toBeLessThan(1500);
    } finally {
      await orphan.app.stop();
    }
  });

  it('answers 504 at the deadline when inventory hangs, and the same key succeeds once it is back', async () => {
    const impatient = await startPurchase({
      DATABASE_URL: await createDatabase(postgres, 'purchase_impatient'),
      INVENTORY_TARGET: inventory.grpcTarget,
      REQUEST_TIMEOUT_MS: '1000',
    });
    const buyHere = (key: string, body: unknown) =>
      send(`${impatient.baseUrl}/v1/purchases`, {
        method: 'POST',
        headers: { 'idempotency-key': key },
        body,
      });
    const key = randomUUID();
    const body = { customerId: 'c-10', items: [{ sku: 'sku-pin', quantity: 1 }] };
    const pinsBefore = await available('sku-pin');
    const runtime = await getContainerRuntimeClient();
    const container = runtime.container.getById(inventory.getId());
    try {
      await container.pause();
      let hung;
      try {
        hung = await buyHere(key, body);
      } finally {
        await container.unpause();
      }
      expect(hung.status).toBe(504);
      expect(hung.body.error.code).toBe('DEADLINE_EXCEEDED');

      // The failure was transient, so the key was unlocked: the client's retry goes through,
      // under the same order id, so even a Reserve that landed late holds one unit only.
      const retried = await buyHere(key, body);
      expect(retried.status).toBe(201);
      expect(await available('sku-pin')).toBe(pinsBefore - 1);
    } finally {
      await impatient.app.stop();
    }
  });
});
