import { randomUUID } from 'node:crypto';
import { connectBus, ensureStreams } from '@switchboard/bus';
import type { Env } from '@switchboard/config';
import { InventoryServiceService } from '@switchboard/contracts';
import { ORDERS_STREAM } from '@switchboard/events';
import { createGrpcClient, type GrpcClient } from '@switchboard/grpc';
import { createMetricsRegistry } from '@switchboard/observability';
import {
  createDatabase,
  startNats,
  startPostgres,
  type StartedNats,
  testLogger,
} from '@switchboard/testing';
import pg from 'pg';
import type { Registry } from 'prom-client';
import { afterAll } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { readConfig } from '../../src/config.js';

export type PostgresContainer = Awaited<ReturnType<typeof startPostgres>>;
export type InventoryClient = GrpcClient<typeof InventoryServiceService>;

export interface InventoryUnderTest extends AsyncDisposable {
  app: App;
  client: InventoryClient;
  registry: Registry;
  grpcPort: number;
  opsUrl: string;
}

// A test file gets one NATS and one Postgres container, each started on first use and stopped
// after the file (vitest evaluates this module once per test file), and what
// inventoryOnFreshDatabase starts is stopped before them.
let sharedNats: Promise<StartedNats> | undefined;
let sharedPostgres: Promise<PostgresContainer> | undefined;
const stopsOfThisFile: (() => Promise<void>)[] = [];

/** The test file's NATS container. */
export function natsOfThisFile(): Promise<StartedNats> {
  sharedNats ??= startNats();
  return sharedNats;
}

/** The test file's Postgres container. */
export function postgresOfThisFile(): Promise<PostgresContainer> {
  sharedPostgres ??= startPostgres();
  return sharedPostgres;
}

afterAll(async () => {
  for (const stop of stopsOfThisFile.splice(0).reverse()) await stop();
  await Promise.all([(await sharedNats)?.stop(), (await sharedPostgres)?.stop()]);
});

/**
 * A fresh database on the file's Postgres and inventory running on it, for the whole test file:
 * both are stopped after the file. `db` is a pool for arranging and asserting.
 */
export async function inventoryOnFreshDatabase(
  name: string,
  env: Env = {},
): Promise<{ db: pg.Pool; inventory: InventoryUnderTest }> {
  const database = await freshDatabase(await postgresOfThisFile(), name);
  const inventory = await startInventoryApp(database.url, env);
  stopsOfThisFile.push(async () => {
    await inventory[Symbol.asyncDispose]();
    await database.pool.end();
  });
  return { db: database.pool, inventory };
}

/**
 * Builds the app as main.ts does, from environment variables, on free ports of 127.0.0.1,
 * and a gRPC client for it. `await using` stops both.
 */
export async function startInventoryApp(
  databaseUrl: string,
  env: Env = {},
): Promise<InventoryUnderTest> {
  const config = readConfig({
    DATABASE_URL: databaseUrl,
    NATS_URL: env.NATS_URL ?? (await natsOfThisFile()).url,
    GRPC_HOST: '127.0.0.1',
    GRPC_PORT: '0',
    OPS_HOST: '127.0.0.1',
    OPS_PORT: '0',
    SHUTDOWN_DELAY_MS: '0',
    SHUTDOWN_TIMEOUT_MS: '5000',
    ...env,
  });
  const registry = createMetricsRegistry({ service: 'inventory' });
  const logger = testLogger('inventory');
  await ensureOrdersStream(config.natsUrl);
  const app = createApp({ config, logger, registry });
  const { grpcPort, opsPort } = await app.start();
  const client = createGrpcClient(InventoryServiceService, `dns:///127.0.0.1:${grpcPort}`, {
    registry: createMetricsRegistry({ service: 'inventory-test-client' }),
    peerName: 'inventory',
  });
  return {
    app,
    client,
    registry,
    grpcPort,
    opsUrl: `http://127.0.0.1:${opsPort}`,
    async [Symbol.asyncDispose]() {
      client.close();
      await app.stop();
    },
  };
}

/**
 * The ORDERS stream, as purchase, its owner, creates it at its start (inventory provisions only
 * its own streams and its consumer): the tests publish OrderConfirmed as purchase would.
 */
export async function ensureOrdersStream(natsUrl: string): Promise<void> {
  await using bus = await connectBus({
    servers: natsUrl,
    name: 'orders-stream-owner',
    logger: testLogger('inventory-test'),
    registry: createMetricsRegistry({ service: 'inventory-test' }),
  });
  await ensureStreams(bus, [ORDERS_STREAM]);
}

/** A fresh database on the file's Postgres container, with a pool for arranging and asserting. */
export async function freshDatabase(container: PostgresContainer, name: string) {
  const url = await createDatabase(container, name);
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  return { url, pool };
}

/** Adds products with their stock straight into the tables (run after the migrations). */
export async function givenStock(
  pool: pg.Pool,
  onHandBySku: Record<string, number>,
): Promise<void> {
  for (const [sku, onHand] of Object.entries(onHandBySku)) {
    await pool.query('INSERT INTO products (sku, name) VALUES ($1, $2)', [sku, `Product ${sku}`]);
    await pool.query('INSERT INTO stock (sku, on_hand) VALUES ($1, $2)', [sku, onHand]);
  }
}

export async function stockRow(
  pool: pg.Pool,
  sku: string,
): Promise<{ onHand: number; reserved: number }> {
  const result = await pool.query<{ on_hand: number; reserved: number }>(
    'SELECT on_hand, reserved FROM stock WHERE sku = $1',
    [sku],
  );
  const row = result.rows[0];
  if (!row) throw new Error(`no stock row for ${sku}`);
  return { onHand: row.on_hand, reserved: row.reserved };
}

/** A SKU or order id no other test uses, so tests share a database without meeting. */
export function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function inSeconds(seconds: number): { deadline: Date } {
  return { deadline: new Date(Date.now() + seconds * 1000) };
}

/** The rejection of a call, for asserting on its code and details. */
export async function failureOf(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    (response) => {
      throw new Error(`expected the call to fail, it answered ${JSON.stringify(response)}`);
    },
    (error: unknown) => error,
  );
}
