import Fastify, { type FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createLiveFeed, type LiveFeed } from '../src/entry-points/live/live-feed.js';
import { registerLiveRoutes } from '../src/entry-points/live/live-routes.js';
import { edgeServerOptions } from '../src/entry-points/http/edge-limits.js';

// The feed's fan-out on real sockets: a Fastify server with GET /v1/live on loopback and `ws`
// clients. The feed's sources (NATS, Postgres, inventory) are the component test's subject.

// Short request timeouts, checked often: a WebSocket is an HTTP request that never ends, and
// must not be closed as a slow one (ADR 18).
const EDGE = {
  headersTimeoutMs: 500,
  requestTimeoutMs: 500,
  connectionsCheckIntervalMs: 100,
  maxHeaderSizeBytes: 16_384,
  maxConnections: 20_000,
  rateLimitMax: 0,
  rateLimitWindowMs: 60_000,
};

let server: FastifyInstance | undefined;
let feed: LiveFeed | undefined;
const clients: WebSocket[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.terminate();
  feed?.close();
  await server?.close();
});

async function startFeed(options: {
  maxBufferedBytes?: number;
  heartbeatIntervalMs?: number;
  maxClients?: number;
}) {
  const registry = new Registry();
  feed = createLiveFeed({
    registry,
    historySize: 5,
    snapshotOrders: 10,
    maxBufferedBytes: options.maxBufferedBytes ?? 1_048_576,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 60_000,
  });
  server = Fastify({ ...edgeServerOptions(EDGE) });
  registerLiveRoutes(server, {
    feed,
    edge: EDGE,
    live: {
      maxClients: options.maxClients ?? 100,
      allowedOrigins: ['https://shop.example'],
      maxMessageBytes: 1_024,
    },
  });
  await server.listen({ host: '127.0.0.1', port: 0 });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { feed, registry, url: `ws://127.0.0.1:${port}/v1/live` };
}

/** A message of the feed as a client parses it: the fields the tests read. */
interface Received {
  seq: number;
  type: string;
  epoch?: string;
  stock?: { sku: string; available: number };
  orders?: { orderId: string }[];
  order?: { orderId: string };
}

/** A client that keeps every message it gets, parsed. */
function connectClient(url: string, options: WebSocket.ClientOptions = {}) {
  const socket = new WebSocket(url, options);
  clients.push(socket);
  const messages: Received[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  socket.on('message', (data) =>
    messages.push(JSON.parse((data as Buffer).toString()) as Received),
  );
  socket.on('error', () => {});
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
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
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const stockChange = (available: number) =>
  ({
    type: 'stock',
    stock: { sku: 'sku-1', onHand: 100, reserved: 100 - available, available },
  }) as const;

describe('the live feed', () => {
  it('sends a snapshot, then each change with the next seq', async () => {
    const { feed, url } = await startFeed({});
    feed.publish(stockChange(90));
    const client = connectClient(url);
    await until(() => client.messages.length === 1, 2_000, 'the snapshot');
    expect(client.messages[0]).toMatchObject({
      seq: 1,
      type: 'snapshot',
      epoch: feed.epoch,
      stock: [{ sku: 'sku-1', available: 90 }],
    });
    feed.publish(stockChange(80));
    feed.publish(stockChange(70));
    await until(() => client.messages.length === 3, 2_000, 'two changes');
    expect(client.messages.slice(1).map((m) => [m.seq, m.stock?.available])).toEqual([
      [2, 80],
      [3, 70],
    ]);
  });

  it('replays what a returning client missed, or sends a snapshot when it is no longer kept', async () => {
    const { feed, url } = await startFeed({});
    for (const available of [99, 98, 97]) feed.publish(stockChange(available));
    // Saw up to 2: gets 3 only, no snapshot.
    const resumed = connectClient(`${url}?since=2&epoch=${feed.epoch}`);
    await until(() => resumed.messages.length === 1, 2_000, 'the replay');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(resumed.messages).toEqual([
      { seq: 3, type: 'stock', stock: expect.objectContaining({ available: 97 }) },
    ]);
    // Seven more: the ring keeps 5 (6 to 10), so a client that saw 3 needs a snapshot.
    for (let i = 0; i < 7; i++) feed.publish(stockChange(90 - i));
    const tooOld = connectClient(`${url}?since=3&epoch=${feed.epoch}`);
    const otherEpoch = connectClient(`${url}?since=9&epoch=${crypto.randomUUID()}`);
    await until(
      () => tooOld.messages.length === 1 && otherEpoch.messages.length === 1,
      2_000,
      'two snapshots',
    );
    expect(tooOld.messages[0]).toMatchObject({ type: 'snapshot', seq: 10 });
    expect(otherEpoch.messages[0]).toMatchObject({ type: 'snapshot', seq: 10 });
  });

  it('closes a client that does not read (4008) and keeps sending to the others', async () => {
    const { feed, registry, url } = await startFeed({ maxBufferedBytes: 256 * 1024 });
    const fast = [connectClient(url), connectClient(url), connectClient(url)];
    const slow = connectClient(url);
    await Promise.all([...fast, slow].map((client) => client.opened));
    // It reads nothing from now on: the kernel's buffers fill, then its send buffer.
    slow.socket.pause();
    const padding = 'x'.repeat(32 * 1024);
    const sent = 400; // 12.8 MB: past any loopback buffer
    for (let i = 0; i < sent; i++) {
      feed.publish({ type: 'rates', rates: { i, padding } });
      // A pause between changes, as between real ones: the readers read.
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    slow.socket.resume();
    const close = await slow.closed;
    expect(close).toEqual({ code: 4008, reason: 'too slow: send buffer full' });
    await until(
      () => fast.every((client) => client.messages.length === sent + 1),
      5_000,
      'every change at every fast client',
    );
    for (const client of fast) {
      expect(client.messages.map((m) => m.seq)).toEqual(
        Array.from({ length: sent + 1 }, (_, i) => i),
      );
    }
    const dropped = await registry.getSingleMetric('live_clients_dropped_total')!.get();
    expect(dropped.values).toEqual([
      expect.objectContaining({ labels: { reason: 'slow' }, value: 1 }),
    ]);
    expect(feed.clientCount()).toBe(3);
  });

  it('refuses a client past LIVE_MAX_CLIENTS (503) and one from a foreign origin (403)', async () => {
    const { feed, url } = await startFeed({ maxClients: 2 });
    const [first, second] = [connectClient(url), connectClient(url)];
    await Promise.all([first.opened, second.opened]);
    expect(await refusedStatus(url)).toBe(503);
    first.socket.close();
    await until(() => feed.clientCount() === 1, 2_000, 'the first client gone');
    expect(await refusedStatus(url, { origin: 'https://evil.example' })).toBe(403);
    const allowed = connectClient(url, { origin: 'https://shop.example' });
    await allowed.opened;
  });

  it("keeps a connection open past the edge's request timeout", async () => {
    const { feed, url } = await startFeed({ heartbeatIntervalMs: 200 });
    const client = connectClient(url);
    await client.opened;
    await new Promise((resolve) => setTimeout(resolve, 4 * EDGE.requestTimeoutMs));
    feed.publish(stockChange(50));
    await until(() => client.messages.length === 2, 2_000, 'the change');
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('closes a peer that stops answering pings', async () => {
    const { feed, url } = await startFeed({ heartbeatIntervalMs: 200 });
    // ws answers pings by itself; a peer gone dead answers none.
    const silent = connectClient(url, { autoPong: false });
    await silent.opened;
    const close = await silent.closed;
    expect(close.code).toBe(1006);
    expect(feed.clientCount()).toBe(0);
  });
});
