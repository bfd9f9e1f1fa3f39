import { connect, type Socket } from 'node:net';
import type { StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import {
  createDatabase,
  databaseUrlInNetwork,
  openSlowSocket,
  startInventory,
  startNats,
  startPostgres,
  type StartedNats,
} from '@switchboard/testing';
import { Network, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PurchaseApp } from '../src/app.js';
import { send, startPurchase } from './purchase-app.js';
import { rawRequest } from './raw-http.js';

// The public edge (ADR 18) on real sockets: purchase in-process on loopback, inventory the real
// container, both on a real Postgres, events on a real NATS.
let network: StartedNetwork;
let postgres: StartedPostgreSqlContainer;
let nats: StartedNats;
let inventory: StartedTestContainer & { grpcTarget: string };
let purchaseDb: string;
const started: PurchaseApp[] = [];

const HEADERS_TIMEOUT_MS = 2_000;
const REQUEST_TIMEOUT_MS = 3_000;
/** The promise of ADR 18: a slow socket is closed within 2 s of its timeout. */
const CLOSE_MARGIN_MS = 2_000;

beforeAll(async () => {
  network = await new Network().start();
  [postgres, nats] = await Promise.all([startPostgres({ network }), startNats({ network })]);
  purchaseDb = await createDatabase(postgres, 'purchase');
  await createDatabase(postgres, 'inventory');
  inventory = await startInventory({
    network,
    databaseUrl: databaseUrlInNetwork('inventory'),
    natsUrl: nats.urlInNetwork,
    products: [{ sku: 'sku-edge', name: 'Edge', onHand: 1_000_000 }],
  });
}, 600_000);

afterAll(async () => {
  for (const app of started) await app.stop();
  await inventory?.stop();
  await Promise.all([postgres?.stop(), nats?.stop()]);
  await network?.stop();
}, 120_000);

async function purchaseWith(env: Record<string, string>) {
  const purchase = await startPurchase({
    DATABASE_URL: purchaseDb,
    INVENTORY_TARGET: inventory.grpcTarget,
    NATS_URL: nats.url,
    ...env,
  });
  started.push(purchase.app);
  return { ...purchase, port: Number(new URL(purchase.baseUrl).port) };
}

/**
 * A slowloris socket (@switchboard/testing): it sends a request one byte every 500 ms and
 * never finishes it, either in its headers or, with complete headers, in its body. Resolves
 * with the milliseconds from its first byte to the server's close.
 */
async function slowSocket(port: number, part: 'headers' | 'body'): Promise<number> {
  const result = await openSlowSocket({ port, part, trickleMs: 500 });
  if (result.failed) throw new Error('the slow socket was closed before it connected');
  return result.closedAt - result.firstByteAt;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** Normal reads, one after the other, for `durationMs`; each one's status and latency. */
async function timeNormalRequests(baseUrl: string, durationMs: number) {
  const results: { status: number; ms: number }[] = [];
  const end = performance.now() + durationMs;
  while (performance.now() < end) {
    const startedAt = performance.now();
    const reply = await send(`${baseUrl}/v1/stock/sku-edge`);
    results.push({ status: reply.status, ms: performance.now() - startedAt });
  }
  return results;
}

describe('slow clients (slowloris)', () => {
  it('closes each of 200 slow sockets within its timeout + 2 s while normal requests keep succeeding', async () => {
    const purchase = await purchaseWith({
      HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      // Node's own default is 30 s: slow sockets then live up to 30 s past their timeout.
      HTTP_CONNECTIONS_CHECK_INTERVAL_MS: '1000',
      // Admission control at its defaults (24 slots): the 100 slow bodies must not take them.
    });
    const baseline = await timeNormalRequests(purchase.baseUrl, 2_000);

    const slowHeaders = Array.from({ length: 100 }, () => slowSocket(purchase.port, 'headers'));
    const slowBodies = Array.from({ length: 100 }, () => slowSocket(purchase.port, 'body'));
    const underAttack = await timeNormalRequests(purchase.baseUrl, REQUEST_TIMEOUT_MS + 1_000);
    const headerCloses = await Promise.all(slowHeaders);
    const bodyCloses = await Promise.all(slowBodies);

    console.log(
      `slowloris: baseline p50 ${percentile(
        baseline.map((r) => r.ms),
        50,
      ).toFixed(1)} ms, ` +
        `p99 ${percentile(
          baseline.map((r) => r.ms),
          99,
        ).toFixed(1)} ms; under 200 slow sockets ` +
        `p50 ${percentile(
          underAttack.map((r) => r.ms),
          50,
        ).toFixed(1)} ms, ` +
        `p99 ${percentile(
          underAttack.map((r) => r.ms),
          99,
        ).toFixed(1)} ms; slow headers closed ` +
        `after ${Math.min(...headerCloses).toFixed(0)}-${Math.max(...headerCloses).toFixed(0)} ms, ` +
        `slow bodies after ${Math.min(...bodyCloses).toFixed(0)}-${Math.max(...bodyCloses).toFixed(0)} ms`,
    );
    // Not before the timeout (the client had its time), and within 2 s after it.
    for (const closedAfter of headerCloses) {
      expect(closedAfter).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
      expect(closedAfter).toBeLessThanOrEqual(HEADERS_TIMEOUT_MS + CLOSE_MARGIN_MS);
    }
    for (const closedAfter of bodyCloses) {
      expect(closedAfter).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
      expect(closedAfter).toBeLessThanOrEqual(REQUEST_TIMEOUT_MS + CLOSE_MARGIN_MS);
    }
    // Every normal request succeeded: the slow bodies held sockets, not admission slots.
    expect(underAttack.length).toBeGreaterThan(10);
    expect(underAttack.filter((r) => r.status !== 200)).toEqual([]);
  }, 60_000);
});

describe('the edge', () => {
  it('returns a valid X-Request-Id as sent, and replaces an invalid or missing one', async () => {
    const purchase = await purchaseWith({});

    const kept = await send(`${purchase.baseUrl}/v1/stock/sku-edge`, {
      headers: { 'x-request-id': 'client-42:a.b_c' },
    });
    expect(kept.status).toBe(200);
    expect(kept.headers.get('x-request-id')).toBe('client-42:a.b_c');

    for (const invalid of ['has spaces', 'x'.repeat(129), 'quote"d']) {
      const replaced = await send(`${purchase.baseUrl}/v1/stock/sku-edge`, {
        headers: { 'x-request-id': invalid },
      });
      expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
    const made = await send(`${purchase.baseUrl}/v1/stock/sku-edge`);
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sends security headers fit for a JSON API', async () => {
    const purchase = await purchaseWith({});
    const reply = await send(`${purchase.baseUrl}/v1/stock/sku-edge`);
    expect(reply.headers.get('x-content-type-options')).toBe('nosniff');
    expect(reply.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(reply.headers.get('content-security-policy')).toBe(
      "default-src 'none';frame-ancestors 'none'",
    );
    expect(reply.headers.get('strict-transport-security')).toMatch(/^max-age=\d+/);
    expect(reply.headers.get('referrer-policy')).toBe('no-referrer');
    expect(reply.headers.get('x-powered-by')).toBeNull();
    // The same on errors.
    const notFound = await send(`${purchase.baseUrl}/nowhere`);
    expect(notFound.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('answers a client over its share 429 RATE_LIMITED with Retry-After, in the error shape', async () => {
    const purchase = await purchaseWith({
      HTTP_RATE_LIMIT_MAX: '5',
      HTTP_RATE_LIMIT_WINDOW_MS: '60000',
    });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await send(`${purchase.baseUrl}/v1/stock/sku-edge`)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const refused = await send(`${purchase.baseUrl}/v1/stock/sku-edge`);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({
      error: { code: 'RATE_LIMITED', message: expect.stringContaining('too many requests') },
    });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(60);
  });

  it('answers headers over HTTP_MAX_HEADER_SIZE_BYTES 431 in the error shape', async () => {
    const purchase = await purchaseWith({ HTTP_MAX_HEADER_SIZE_BYTES: '4096' });
    const answer = await rawRequest(purchase.port, {
      method: 'GET',
      target: '/v1/stock/sku-edge',
      headers: [['x-big', 'a'.repeat(5_000)]],
    });
    expect(answer?.status).toBe(431);
    expect(JSON.parse(answer?.body ?? '{}')).toMatchObject({ error: { code: expect.any(String) } });
    const small = await rawRequest(purchase.port, {
      method: 'GET',
      target: '/v1/stock/sku-edge',
      headers: [['x-small', 'a'.repeat(1_000)]],
    });
    expect(small?.status).toBe(200);
  });

  it('closes connections past HTTP_MAX_CONNECTIONS at once, and takes new ones when some close', async () => {
    const purchase = await purchaseWith({ HTTP_MAX_CONNECTIONS: '10' });
    const open = await Promise.all(
      Array.from(
        { length: 10 },
        () =>
          new Promise<Socket>((resolve) => {
            const socket = connect(purchase.port, '127.0.0.1', () => resolve(socket));
          }),
      ),
    );
    // Node accepts, then drops, the one too many: it never gets an answer.
    const over = await rawRequest(purchase.port, {
      method: 'GET',
      target: '/v1/stock/sku-edge',
      headers: [],
    });
    expect(over).toBeUndefined();
    for (const socket of open) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = await rawRequest(purchase.port, {
      method: 'GET',
      target: '/v1/stock/sku-edge',
      headers: [],
    });
    expect(after?.status).toBe(200);
  });
});
