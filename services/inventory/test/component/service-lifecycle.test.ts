import { readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMetricsRegistry } from '@switchboard/observability';
import { freePort, startPostgres, testLogger } from '@switchboard/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { readConfig } from '../../src/config.js';
import {
  failureOf,
  freshDatabase,
  inSeconds,
  natsOfThisFile,
  startInventoryApp,
  type PostgresContainer,
} from '../support/inventory-under-test.js';

const SHIPPED_SEED_FILE = fileURLToPath(new URL('../../seed/products.json', import.meta.url));
const MIGRATION_FILES = readdirSync(
  fileURLToPath(new URL('../../migrations/', import.meta.url)),
).length;

let container: PostgresContainer;
let scratch: string;

beforeAll(async () => {
  container = await startPostgres();
  scratch = await mkdtemp(join(tmpdir(), 'inventory-test-'));
});

afterAll(async () => {
  await container?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

let databases = 0;
/** Each test gets its own empty database: these tests are about what happens at start. */
async function emptyDatabase() {
  databases += 1;
  return freshDatabase(container, `lifecycle_${databases}`);
}

async function seedFile(name: string, products: unknown): Promise<string> {
  const path = join(scratch, name);
  await writeFile(path, JSON.stringify(products));
  return path;
}

async function listening(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  return address.port;
}

describe('seeding', () => {
  it('seeds the products of SEED_FILE at start', async () => {
    const { url, pool } = await emptyDatabase();
    await using inventory = await startInventoryApp(url, { SEED_FILE: SHIPPED_SEED_FILE });

    const { stock } = await inventory.client.listStock(
      { pageSize: 0, pageToken: '' },
      inSeconds(5),
    );

    expect(stock).toEqual([
      { sku: 'sku-blue-mug', name: 'Blue mug', onHand: 100, reserved: 0, available: 100 },
      {
        sku: 'sku-limited-poster',
        name: 'Limited edition poster',
        onHand: 50,
        reserved: 0,
        available: 50,
      },
      { sku: 'sku-red-mug', name: 'Red mug', onHand: 100, reserved: 0, available: 100 },
      { sku: 'sku-sticker-pack', name: 'Sticker pack', onHand: 1000, reserved: 0, available: 1000 },
      { sku: 'sku-tote-bag', name: 'Tote bag', onHand: 200, reserved: 0, available: 200 },
    ]);
    await pool.end();
  });

  it('seeding again at a restart keeps the stock that was sold and adds the new products', async () => {
    const { url, pool } = await emptyDatabase();
    const first = await startInventoryApp(url, { SEED_FILE: SHIPPED_SEED_FILE });
    await first.client.reserve(
      { orderId: 'order-1', items: [{ sku: 'sku-red-mug', quantity: 3 }], ttlSeconds: 60 },
      inSeconds(5),
    );
    await first[Symbol.asyncDispose]();
    const changed = await seedFile('changed.json', [
      { sku: 'sku-red-mug', name: 'Red mug, glazed', onHand: 999 },
      { sku: 'sku-green-mug', name: 'Green mug', onHand: 7 },
    ]);

    await using second = await startInventoryApp(url, { SEED_FILE: changed });

    const red = await second.client.getStock({ sku: 'sku-red-mug' }, inSeconds(5));
    expect(red.stock).toEqual({
      sku: 'sku-red-mug',
      name: 'Red mug, glazed',
      onHand: 100,
      reserved: 3,
      available: 97,
    });
    const green = await second.client.getStock({ sku: 'sku-green-mug' }, inSeconds(5));
    expect(green.stock).toMatchObject({ onHand: 7, reserved: 0 });
    await pool.end();
  });

  it('refuses to start with a bad seed file, naming every bad entry', async () => {
    const { url, pool } = await emptyDatabase();
    const bad = await seedFile('bad.json', [
      { sku: 'sku-fine', name: 'Fine', onHand: 1 },
      { sku: 'sku-broken', name: '', onHand: -1 },
      { name: 'No SKU', onHand: 1.5 },
      { sku: 'sku-fine', name: 'Twice', onHand: 1 },
    ]);

    const error = await failureOf(startInventoryApp(url, { SEED_FILE: bad }));

    expect((error as Error).message).toContain(bad);
    for (const problem of [
      '[1] (sku-broken).name',
      '[1] (sku-broken).onHand',
      '[2].sku',
      '[2].onHand',
      '[3] (sku-fine).sku appears more than once',
    ]) {
      expect((error as Error).message).toContain(problem);
    }
    const products = await pool.query('SELECT 1 FROM products');
    expect(products.rowCount).toBe(0);
    await pool.end();
  });

  it('two replicas starting at once on an empty database both migrate, seed and serve', async () => {
    const { url, pool } = await emptyDatabase();

    const replicas = await Promise.all([
      startInventoryApp(url, { SEED_FILE: SHIPPED_SEED_FILE }),
      startInventoryApp(url, { SEED_FILE: SHIPPED_SEED_FILE }),
    ]);

    try {
      const answers = await Promise.all(
        replicas.map(({ client }) => client.getStock({ sku: 'sku-tote-bag' }, inSeconds(5))),
      );
      expect(answers[0]).toEqual(answers[1]);
      expect(answers[0]?.stock).toMatchObject({ onHand: 200, reserved: 0 });
      const migrations = await pool.query('SELECT name FROM pgmigrations');
      expect(migrations.rowCount).toBe(MIGRATION_FILES);
    } finally {
      await Promise.all(replicas.map((replica) => replica[Symbol.asyncDispose]()));
      await pool.end();
    }
  });
});

describe('ops port', () => {
  it('answers /livez and /readyz 200 once ready, and counts gRPC calls on /metrics', async () => {
    const { url, pool } = await emptyDatabase();
    await using inventory = await startInventoryApp(url, { SEED_FILE: SHIPPED_SEED_FILE });
    await inventory.client.getStock({ sku: 'sku-red-mug' }, inSeconds(5));

    const live = await fetch(`${inventory.opsUrl}/livez`);
    const ready = await fetch(`${inventory.opsUrl}/readyz`);
    const metrics = await (await fetch(`${inventory.opsUrl}/metrics`)).text();

    expect(live.status).toBe(200);
    expect(ready.status).toBe(200);
    // grpc.health.v1 says the same as /readyz.
    await expect(inventory.client.checkHealth(inSeconds(2))).resolves.toBeUndefined();
    expect(await ready.json()).toMatchObject({
      checks: [
        { name: 'database', ok: true },
        // Shown, not deciding readiness: the gRPC API works without NATS.
        { name: 'nats', ok: true, critical: false },
      ],
    });
    expect(metrics).toMatch(
      /grpc_server_handled_total\{[^}]*grpc_method="GetStock",grpc_code="OK"[^}]*\} 1/,
    );
    await pool.end();
  });
});

describe('stop', () => {
  it('does not wait out the sweep interval when it comes while a sweep is running', async () => {
    const { url, pool } = await emptyDatabase();
    // A first start runs the migrations; the test then holds the reservations table so the
    // second start's first sweep blocks until the stop has been asked for.
    await (await startInventoryApp(url)).app.stop();
    const holder = await pool.connect();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE reservations IN ACCESS EXCLUSIVE MODE');
    const inventory = await startInventoryApp(url, { RESERVATION_SWEEP_INTERVAL_MS: '60000' });
    try {
      const startedAt = performance.now();
      const stopping = inventory.app.stop();
      await new Promise((resolve) => setTimeout(resolve, 200));
      await holder.query('COMMIT');
      await stopping;
      // Waiting out the interval would take 60 s, cut off at SHUTDOWN_TIMEOUT_MS (5 s).
      expect(performance.now() - startedAt).toBeLessThan(4_000);
    } finally {
      holder.release();
      await pool.end();
    }
  });

  it('turns /readyz 503 first, serves calls through the pause, then closes every port', async () => {
    const { url, pool } = await emptyDatabase();
    const inventory = await startInventoryApp(url, {
      SEED_FILE: SHIPPED_SEED_FILE,
      SHUTDOWN_DELAY_MS: '500',
    });

    const stopping = inventory.app.stop();
    const ready = await fetch(`${inventory.opsUrl}/readyz`);
    const health = await failureOf(inventory.client.checkHealth(inSeconds(2)));
    const during = await inventory.client.getStock({ sku: 'sku-red-mug' }, inSeconds(5));
    const result = await stopping;

    expect(ready.status).toBe(503);
    expect(health).toMatchObject({ code: 'UNAVAILABLE', message: 'inventory: NOT_SERVING' });
    expect(during.stock?.sku).toBe('sku-red-mug');
    expect(result).toEqual({ clean: true, timedOut: false, failed: [] });
    await expect(fetch(`${inventory.opsUrl}/livez`)).rejects.toThrow();
    const after = await failureOf(inventory.client.getStock({ sku: 'sku-red-mug' }, inSeconds(2)));
    expect(after).toMatchObject({ code: 'UNAVAILABLE' });
    await expect.poll(() => inventorySessions(pool)).toBe(0);
    inventory.client.close();
    await pool.end();
  });

  it('when the gRPC port is taken, start fails and stops what it had started', async () => {
    const { url, pool } = await emptyDatabase();
    await using squatter = createServer();
    const takenPort = await listening(squatter);
    // Named before the start, to check that the failed start closed it again.
    const opsPort = await freePort();
    const app = createApp({
      config: readConfig({
        DATABASE_URL: url,
        NATS_URL: (await natsOfThisFile()).url,
        GRPC_HOST: '127.0.0.1',
        GRPC_PORT: String(takenPort),
        OPS_HOST: '127.0.0.1',
        OPS_PORT: String(opsPort),
        SHUTDOWN_DELAY_MS: '0',
      }),
      logger: testLogger('inventory'),
      registry: createMetricsRegistry({ service: 'inventory' }),
    });

    await expect(app.start()).rejects.toThrow(`cannot listen on 127.0.0.1:${takenPort}`);

    await expect(fetch(`http://127.0.0.1:${opsPort}/livez`)).rejects.toThrow();
    await expect.poll(() => inventorySessions(pool)).toBe(0);
    await pool.end();
  });
});

/** Connections the app's pool holds open to its database. */
async function inventorySessions(pool: pg.Pool): Promise<number> {
  const result = await pool.query<{ sessions: number }>(
    `SELECT count(*)::int AS sessions FROM pg_stat_activity
     WHERE application_name = 'inventory' AND datname = current_database()`,
  );
  return result.rows[0]?.sessions ?? -1;
}
