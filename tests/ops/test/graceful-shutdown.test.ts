/**
 * SIGTERM and SIGINT as a container runtime sends them, to the built services running as
 * processes: requests in flight finish, readiness turns 503 before the listener closes, the
 * process exits inside its deadline, and a second signal means "now".
 */
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfrastructure, type Infrastructure } from './support/infrastructure.js';
import {
  histogramSumAndCount,
  opsUrl,
  startInventoryProcess,
  startPurchaseProcess,
} from '@switchboard/testing';
import { buy } from './support/purchases.js';

const SKU = 'sku-held';
const SHUTDOWN_TIMEOUT_MS = 10_000;
// What beforeAll starts, stopped in reverse by afterAll.
const shared = new AsyncDisposableStack();
let infrastructure: Infrastructure;
let inventoryTarget: string;
let inventoryDb: pg.Pool;
let inventoryOps: string;

beforeAll(async () => {
  infrastructure = shared.use(
    await startInfrastructure([{ sku: SKU, name: 'Held', onHand: 1_000 }]),
  );
  const inventory = shared.use(
    await startInventoryProcess('inventory', {
      DATABASE_URL: infrastructure.inventoryDatabaseUrl,
      NATS_URL: infrastructure.nats.url,
      SEED_FILE: infrastructure.seedFile,
      GRPC_HOST: '127.0.0.1',
      OPS_HOST: '127.0.0.1',
    }),
  );
  inventoryTarget = `dns:///127.0.0.1:${inventory.ready.grpcPort}`;
  inventoryOps = opsUrl(inventory);
  inventoryDb = new pg.Pool({ connectionString: infrastructure.inventoryDatabaseUrl, max: 4 });
  shared.defer(() => inventoryDb.end());
});

afterAll(() => shared.disposeAsync());

function startPurchaseForTest(env: Record<string, string> = {}) {
  return startPurchaseProcess('purchase', {
    DATABASE_URL: infrastructure.purchaseDatabaseUrl,
    NATS_URL: infrastructure.nats.url,
    INVENTORY_TARGET: inventoryTarget,
    HTTP_HOST: '127.0.0.1',
    OPS_HOST: '127.0.0.1',
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    ...env,
  });
}

/**
 * Holds the stock row of SKU locked, so every Reserve of it waits inside inventory: purchases
 * stay in flight, for real, until `release`.
 */
async function holdStock() {
  const client = await inventoryDb.connect();
  await client.query('BEGIN');
  await client.query('SELECT * FROM stock WHERE sku = $1 FOR UPDATE', [SKU]);
  return {
    async release() {
      await client.query('COMMIT');
      client.release();
    },
  };
}

/** Reserves waiting for the row lock: the purchases truly in flight. */
async function waitingReserves(): Promise<number> {
  const { rows } = await inventoryDb.query<{ waiting: number }>(
    `SELECT count(*)::int AS waiting FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock'`,
  );
  return rows[0]?.waiting ?? 0;
}

/**
 * Reserves inventory has taken into its group-commit batches (ADR 28): five concurrent
 * Reserves of one SKU wait for its row lock in one or two transactions, not five.
 */
async function reservesInBatches(): Promise<number> {
  const metrics = await (await fetch(`${inventoryOps}/metrics`)).text();
  return histogramSumAndCount(metrics, 'inventory_batch_size', 'use_case="reserve"').sum;
}

/** Polls until `probe` says yes; returns performance.now() at that moment. */
async function firstTime(probe: () => Promise<boolean>, timeoutMs = 15_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await probe()) return performance.now();
    await sleep(20);
  }
  throw new Error('never happened');
}

const readyzStatus = (url: string) =>
  fetch(`${url}/readyz`).then(
    (response) => response.status,
    () => 0,
  );

/** Whether a new TCP connection to the port is refused: the listener is closed. */
const refusesConnections = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });

describe('SIGTERM to purchase', () => {
  it('lets the requests in flight finish, turns /readyz 503 before closing the listener, and exits 0 inside its deadline', async () => {
    await using purchase = await startPurchaseForTest({ SHUTDOWN_DELAY_MS: '1000' });
    const { httpPort } = purchase.ready;
    const baseUrl = `http://127.0.0.1:${httpPort}`;
    const held = await holdStock();
    const reservesBefore = await reservesInBatches();
    const inFlight = Array.from({ length: 5 }, () => buy(baseUrl, SKU));
    // All five are inside inventory, their transactions waiting for the held row.
    await expect
      .poll(async () => (await reservesInBatches()) - reservesBefore, { timeout: 10_000 })
      .toBe(5);
    await expect.poll(waitingReserves, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(await readyzStatus(opsUrl(purchase))).toBe(200);

    const signalledAt = purchase.signal('SIGTERM');
    const readyzTurned503At = firstTime(async () => (await readyzStatus(opsUrl(purchase))) === 503);
    const listenerClosedAt = firstTime(() => refusesConnections(httpPort));
    // The held requests are still running when the listener closes; then they may finish.
    await listenerClosedAt;
    await held.release();
    const outcomes = await Promise.all(inFlight);
    const exit = await purchase.exited;

    expect(outcomes.map((outcome) => outcome.status)).toEqual([201, 201, 201, 201, 201]);
    expect(await readyzTurned503At).toBeLessThan(await listenerClosedAt);
    expect(exit.code, purchase.output()).toBe(0);
    expect(exit.at - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
  });

  it('exits at once on a second signal, without waiting for the graceful stop', async () => {
    // A long readiness delay: the graceful stop would take at least 8 s.
    await using purchase = await startPurchaseForTest({
      SHUTDOWN_DELAY_MS: '8000',
      SHUTDOWN_TIMEOUT_MS: '20000',
    });

    purchase.signal('SIGTERM');
    await sleep(300);
    const secondAt = purchase.signal('SIGINT');
    const exit = await purchase.exited;

    expect(exit.code).not.toBe(0);
    // "At once" is well before the 8 s the graceful stop would have taken.
    expect(exit.at - secondAt).toBeLessThan(2_000);
  });
});

describe('SIGTERM to inventory', () => {
  it('exits at once on a second signal, without waiting for the graceful stop', async () => {
    await using other = await startInventoryProcess('inventory-2', {
      DATABASE_URL: infrastructure.inventoryDatabaseUrl,
      NATS_URL: infrastructure.nats.url,
      GRPC_HOST: '127.0.0.1',
      OPS_HOST: '127.0.0.1',
      SHUTDOWN_DELAY_MS: '8000',
      SHUTDOWN_TIMEOUT_MS: '20000',
    });

    other.signal('SIGTERM');
    await sleep(300);
    const secondAt = other.signal('SIGTERM');
    const exit = await other.exited;

    expect(exit.code).not.toBe(0);
    expect(exit.at - secondAt).toBeLessThan(2_000);
  });
});
