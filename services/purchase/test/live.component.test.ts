import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import {
  createDatabase,
  databaseUrlInNetwork,
  startInventory,
  startNats,
  startPostgres,
  type StartedNats,
} from '@switchboard/testing';
import { Network, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { PurchaseApp } from '../src/app.js';
import { send, startPurchase } from './purchase-app.js';

// GET /v1/live and GET / of purchase in-process, with its real sources: inventory's container
// (its StockChanged events on a real NATS), orders in a real Postgres.
let network: StartedNetwork;
let postgres: StartedPostgreSqlContainer;
let nats: StartedNats;
let inventory: StartedTestContainer & { grpcTarget: string };
let purchase: { app: PurchaseApp; baseUrl: string; opsUrl: string };
let liveUrl: string;
let purchaseDb: string;

const SKU = 'sku-live';
const CLIENTS = 1_000;

beforeAll(async () => {
  network = await new Network().start();
  [postgres, nats] = await Promise.all([startPostgres({ network }), startNats({ network })]);
  purchaseDb = await createDatabase(postgres, 'purchase');
  await createDatabase(postgres, 'inventory');
  inventory = await startInventory({
    network,
    databaseUrl: databaseUrlInNetwork('inventory'),
    natsUrl: nats.urlInNetwork,
    products: [{ sku: SKU, name: 'Live', onHand: 1_000_000 }],
  });
  purchase = await startPurchase({
    DATABASE_URL: purchaseDb,
    INVENTORY_TARGET: inventory.grpcTarget,
    NATS_URL: nats.url,
    // inventory's ops port is not published by the test container: its panel shows the error.
    INVENTORY_OPS_URL: 'http://127.0.0.1:9',
    LIVE_MAX_CLIENTS: String(CLIENTS + 10),
    LIVE_PANELS_INTERVAL_MS: '60000',
    // A client that answers no ping is closed at the second one after it went quiet.
    LIVE_HEARTBEAT_INTERVAL_MS: '2000',
  });
  liveUrl = `${purchase.baseUrl.replace('http:', 'ws:')}/v1/live`;
}, 600_000);

afterAll(async () => {
  await purchase?.app.stop();
  await inventory?.stop();
  await Promise.all([postgres?.stop(), nats?.stop()]);
  await network?.stop();
}, 120_000);

/** A message of the feed as a client parses it: the fields the tests read. */
interface Received {
  seq: number;
  type: string;
  epoch?: string;
  stock?: { sku: string; available: number };
  orders?: { orderId: string }[];
  order?: { orderId: string };
}

/** A client keeping every message it gets, parsed, with the time it came. */
function connectClient(url: string, headers: Record<string, string> = {}) {
  const socket = new WebSocket(url, { headers });
  const messages: { at: number; message: Received }[] = [];
  socket.on('message', (data) =>
    messages.push({
      at: performance.now(),
      message: JSON.parse((data as Buffer).toString()) as Received,
    }),
  );
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, messages, opened, closed };
}

/** The status the server answered a handshake it refused with. */
function refusedStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('open', () => reject(new Error('the handshake was accepted')));
    socket.once('error', () => {});
  });
}

async function until(condition: () => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function buy(quantity = 1) {
  return send(`${purchase.baseUrl}/v1/purchases`, {
    method: 'POST',
    headers: { 'idempotency-key': randomUUID() },
    body: { customerId: 'live-test', items: [{ sku: SKU, quantity }] },
  });
}

/** purchase's open sockets on its public port, from its GET /sockets. */
async function inboundSockets(): Promise<number> {
  const report = (await send(`${purchase.opsUrl}/sockets`)).body as {
    sockets: { role: string; declaredAs?: string; state: string }[];
  };
  return report.sockets.filter(
    (socket) => socket.role === 'inbound' && socket.declaredAs === 'http',
  ).length;
}

/** live_clients_dropped_total{reason} of purchase, from its /metrics. */
async function droppedClients(reason: string): Promise<number> {
  const text = await (await fetch(`${purchase.opsUrl}/metrics`)).text();
  const line = new RegExp(
    `^live_clients_dropped_total\\{[^}]*reason="${reason}"[^}]*\\} (\\d+)$`,
    'm',
  );
  return Number(line.exec(text)?.[1] ?? 0);
}

describe('the live feed of purchase', () => {
  it('sends the stock and the latest orders, then each order and stock change as it happens', async () => {
    const before = await buy();
    expect(before.status).toBe(201);
    const client = connectClient(liveUrl);
    await until(() => client.messages.length >= 1, 5_000, 'the snapshot');
    const snapshot = client.messages[0]!.message;
    expect(snapshot).toMatchObject({
      type: 'snapshot',
      stock: [expect.objectContaining({ sku: SKU })],
    });
    expect(snapshot.orders?.[0]?.orderId).toBe(before.body.orderId);

    const bought = await buy(3);
    await until(
      () => client.messages.some(({ message }) => message.order?.orderId === bought.body.orderId),
      5_000,
      'the order',
    );
    const available = (await send(`${purchase.baseUrl}/v1/stock/${SKU}`)).body.available;
    await until(
      () => client.messages.some(({ message }) => message.stock?.available === available),
      5_000,
      'the stock change',
    );
    // Every message after the snapshot has the next seq.
    const seqs = client.messages.map(({ message }) => message.seq);
    expect(seqs).toEqual(seqs.map((_, i) => snapshot.seq + i));
    client.socket.close();
    await client.closed;
  });

  it('refuses a page of another origin (403) and lets its own in', async () => {
    expect(await refusedStatus(liveUrl, { origin: 'https://evil.example' })).toBe(403);
    const own = connectClient(liveUrl, { origin: purchase.baseUrl });
    await own.opened;
    own.socket.close();
    await own.closed;
  });

  it('serves the page with a CSP of its own, while the API keeps the one that allows nothing', async () => {
    const page = await fetch(`${purchase.baseUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="/live/app.js">');
    const script = await fetch(`${purchase.baseUrl}/live/app.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const api = await fetch(`${purchase.baseUrl}/v1/stock/${SKU}`);
    expect(api.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it(`gets each update to ${CLIENTS} clients within 1 s while one never reads, drops that one, and its sockets back after they leave`, async () => {
    const baseline = await inboundSockets();
    const clients = Array.from({ length: CLIENTS }, () => connectClient(liveUrl));
    await Promise.all(clients.map((client) => client.opened));
    await until(() => clients.every((c) => c.messages.length >= 1), 10_000, 'every snapshot');
    expect(await inboundSockets()).toBeGreaterThanOrEqual(baseline + CLIENTS);
    // One more that reads nothing after its snapshot: not even the pings, so it never pongs.
    const silent = connectClient(liveUrl);
    await until(() => silent.messages.length >= 1, 10_000, 'its snapshot');
    silent.socket.pause();

    for (let round = 0; round < 3; round++) {
      const bought = await buy();
      // From the 201: the purchase's own time is not the feed's.
      const answeredAt = performance.now();
      const isTheOrder = ({ message }: { message: Received }) =>
        message.order?.orderId === bought.body.orderId;
      await until(
        () => clients.every((client) => client.messages.some(isTheOrder)),
        5_000,
        'the order at every client',
      );
      const latest = Math.max(
        ...clients.map((client) => client.messages.find(isTheOrder)!.at - answeredAt),
      );
      expect(latest).toBeLessThan(1_000);
    }
    // The silent one is closed by the heartbeat (the server's count: paused, the client does
    // not see its socket close); every other client is still connected.
    await expect.poll(() => droppedClients('heartbeat'), { timeout: 10_000 }).toBe(1);
    silent.socket.resume();
    await silent.closed;
    expect(clients.every((client) => client.socket.readyState === WebSocket.OPEN)).toBe(true);
    expect(await droppedClients('slow')).toBe(0);
    for (const client of clients) {
      const seqs = client.messages.map(({ message }) => message.seq);
      expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    }

    for (const client of clients) client.socket.close();
    await Promise.all(clients.map((client) => client.closed));
    // Up to 10 s: fetch's own keep-alive socket of the purchases above closes after 4 s idle.
    let now = await inboundSockets();
    for (let i = 0; i < 100 && now > baseline; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      now = await inboundSockets();
    }
    expect(now).toBeLessThanOrEqual(baseline);
  }, 120_000);
});

describe('the panels of the live page', () => {
  it('reads the sockets (its own, and GET /sockets of inventory) only while a client watches', async () => {
    // inventory's ops port, played by a server that counts its GET /sockets.
    let socketReads = 0;
    const inventoryOps = createServer((request, response) => {
      if (request.url === '/sockets') socketReads += 1;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ sockets: [] }));
    });
    await new Promise<void>((resolve) => inventoryOps.listen(0, '127.0.0.1', resolve));
    const { port } = inventoryOps.address() as AddressInfo;
    const watched = await startPurchase({
      DATABASE_URL: purchaseDb,
      INVENTORY_TARGET: inventory.grpcTarget,
      NATS_URL: nats.url,
      INVENTORY_OPS_URL: `http://127.0.0.1:${port}`,
      LIVE_PANELS_INTERVAL_MS: '100',
    });
    try {
      // Ten turns of the panels with no one watching: no sockets read.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(socketReads).toBe(0);
      const client = connectClient(`${watched.baseUrl.replace('http:', 'ws:')}/v1/live`);
      await until(
        () => client.messages.some(({ message }) => message.type === 'sockets'),
        5_000,
        'the sockets panel',
      );
      expect(socketReads).toBeGreaterThan(0);
      client.socket.close();
      await client.closed;
      // The client gone, the reads stop again (one turn may have been under way).
      await new Promise((resolve) => setTimeout(resolve, 300));
      const afterLeaving = socketReads;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(socketReads).toBe(afterLeaving);
    } finally {
      await watched.app.stop();
      await new Promise((resolve) => inventoryOps.close(resolve));
    }
  }, 60_000);
});
