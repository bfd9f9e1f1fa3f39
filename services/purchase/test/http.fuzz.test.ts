import { randomUUID } from 'node:crypto';
import type { StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import { ERROR_CODES } from '@switchboard/errors';
import {
  createDatabase,
  databaseUrlInNetwork,
  fuzz,
  garbageBytes,
  hostileJson,
  hostileJsonText,
  hostileNumber,
  hostileString,
  startInventory,
  startNats,
  startPostgres,
  type StartedNats,
} from '@switchboard/testing';
import fc from 'fast-check';
import { Network, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { PurchaseApp } from '../src/app.js';
import { startPurchase } from './purchase-app.js';
import { rawRequest, type RawAnswer, type RawRequest } from './raw-http.js';
import {
  encodeFrame,
  rawUpgrade,
  serverFrames,
  webSocketKey,
  type RawUpgrade,
  type RawUpgradeAnswer,
} from './raw-websocket.js';

// Property: whatever a client sends to any route, the answer is 2xx or 4xx in the documented
// { error: { code, message } } shape (400s naming their fields), never a 5xx; what a 201
// stored reads back as sent; purchase and inventory stay up. purchase runs in-process on real
// HTTP, inventory is the real container, both on a real Postgres, events on a real NATS.
let network: StartedNetwork;
let postgres: StartedPostgreSqlContainer;
let nats: StartedNats;
let inventory: StartedTestContainer;
let purchase: { app: PurchaseApp; baseUrl: string; opsUrl: string };
let port: number;

const SKUS = ['sku-a', 'sku-b', 'sku-c'];

beforeAll(async () => {
  network = await new Network().start();
  [postgres, nats] = await Promise.all([startPostgres({ network }), startNats({ network })]);
  const purchaseDb = await createDatabase(postgres, 'purchase');
  await createDatabase(postgres, 'inventory');
  const started = await startInventory({
    network,
    databaseUrl: databaseUrlInNetwork('inventory'),
    natsUrl: nats.urlInNetwork,
    // Enough stock that the valid purchases of a long run never run short.
    products: SKUS.map((sku) => ({ sku, name: `Product ${sku}`, onHand: 2_000_000_000 })),
  });
  inventory = started;
  purchase = await startPurchase({
    DATABASE_URL: purchaseDb,
    INVENTORY_TARGET: started.grpcTarget,
    NATS_URL: nats.url,
  });
  port = Number(new URL(purchase.baseUrl).port);
}, 600_000);

afterAll(async () => {
  await purchase?.app.stop();
  await inventory?.stop();
  await Promise.all([postgres?.stop(), nats?.stop()]);
  await network?.stop();
}, 120_000);

/**
 * Every answer: below 500, and every 4xx in the documented shape (but for HEAD, which has no
 * body). Returns the status, the case's outcome.
 */
function checkAnswer(answer: RawAnswer | undefined, method = 'GET'): string {
  if (!answer) throw new Error('the server closed the connection without an answer');
  expect(answer.status, answer.body).toBeGreaterThanOrEqual(200);
  expect(answer.status, answer.body).toBeLessThan(500);
  if (answer.status >= 400 && method !== 'HEAD') {
    const body = JSON.parse(answer.body) as { error?: Record<string, unknown> };
    expect(Object.keys(body)).toEqual(['error']);
    expect(ERROR_CODES).toContain(body.error?.code);
    expect(typeof body.error?.message).toBe('string');
    const problems = (body.error?.details as { problems?: unknown[] } | undefined)?.problems;
    if (answer.status === 400 && problems !== undefined) {
      expect(problems.length).toBeGreaterThan(0);
      for (const problem of problems)
        expect(problem).toEqual({ field: expect.any(String), message: expect.any(String) });
    }
  }
  return String(answer.status);
}

/** Both services still answer: nothing sent crashed or wedged either of them. */
async function bothAlive(): Promise<void> {
  expect((await fetch(`${purchase.opsUrl}/livez`)).status).toBe(200);
  const inventoryOps = `http://${inventory.getHost()}:${inventory.getMappedPort(9464)}`;
  expect((await fetch(`${inventoryOps}/livez`)).status).toBe(200);
}

let sent = 0;
async function send(request: RawRequest): Promise<RawAnswer | undefined> {
  sent += 1;
  // Every 50 requests, a look at both processes, so a crash is caught near its cause.
  if (sent % 50 === 0) await bothAlive();
  return rawRequest(port, request);
}

/** A header value as HTTP carries it: latin1 bytes, sometimes with CR, LF or NUL. */
const headerValue = fc.oneof(
  { weight: 3, arbitrary: hostileString().map((value) => Buffer.from(value).toString('latin1')) },
  {
    weight: 1,
    arbitrary: fc.string({
      unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)),
    }),
  },
);

/** A path segment or query value, percent-encoded or raw, including invalid UTF-8. */
const urlPart = fc.oneof(
  hostileString().map((value) => encodeURIComponent(value.toWellFormed())),
  hostileString().map((value) =>
    // Percent-encodes the UTF-16 units one by one: unpaired surrogates become invalid UTF-8.
    [...value]
      .map((unit) => `%${(unit.charCodeAt(0) & 0xff).toString(16).padStart(2, '0')}`)
      .join(''),
  ),
  fc.constantFrom('', '%', '%zz', '%ED%A0%80', '%00', '%C0%80', '..', '%2F', '%2e%2e', '+', '%20'),
  fc.string({ unit: fc.integer({ min: 0x21, max: 0xff }).map((c) => String.fromCharCode(c)) }),
);

const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'APPLICATION/JSON',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      '',
      'application/json, text/plain',
    ),
  },
  { weight: 1, arbitrary: headerValue },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

/** A purchase body: mostly the right shape with hostile values, else anything at all. */
const purchaseBody = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({
        customerId: fc.oneof(
          { weight: 3, arbitrary: fc.constantFrom('c-1', 'customer-é-😀', 'לקוח', ' spaced ') },
          { weight: 3, arbitrary: hostileString() },
          { weight: 1, arbitrary: hostileJson },
        ),
        items: fc.oneof(
          fc.array(
            fc.record({
              sku: fc.oneof(
                { weight: 4, arbitrary: fc.constantFrom(...SKUS) },
                { weight: 1, arbitrary: hostileString() },
                { weight: 1, arbitrary: hostileJson },
              ),
              quantity: fc.oneof(
                { weight: 4, arbitrary: fc.integer({ min: 1, max: 3 }) },
                { weight: 1, arbitrary: hostileNumber },
                { weight: 1, arbitrary: hostileJson },
              ),
            }),
            { minLength: 1, maxLength: 3 },
          ),
          fc.array(fc.record({ sku: fc.constantFrom(...SKUS), quantity: fc.constant(1) }), {
            minLength: 0,
            maxLength: 60,
          }),
          hostileJson,
        ),
      })
      .map((body) => Buffer.from(JSON.stringify(body))),
  },
  { weight: 2, arbitrary: hostileJson.map((value) => Buffer.from(JSON.stringify(value) ?? '')) },
  { weight: 1, arbitrary: hostileJsonText.map((text) => Buffer.from(text)) },
  { weight: 1, arbitrary: garbageBytes() },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 60_000, max: 200_000 }).map((size) => Buffer.alloc(size, 'a')),
  },
);

const idempotencyKey = fc.oneof(
  { weight: 3, arbitrary: fc.constant('fresh') },
  { weight: 2, arbitrary: headerValue },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

interface SentPurchase {
  customerId: unknown;
  items: unknown;
}

describe('fuzzing the HTTP API', () => {
  const runId = randomUUID().slice(0, 8);
  let keys = 0;

  it('POST /v1/purchases: any body, Idempotency-Key and content-type', async () => {
    await fuzz(
      'HTTP POST /v1/purchases',
      fc.record({ body: purchaseBody, key: idempotencyKey, contentType }),
      async ({ body, key, contentType: type }) => {
        const headers: [string, string][] = [];
        if (key === 'fresh') headers.push(['Idempotency-Key', `${runId}-${(keys += 1)}`]);
        else if (key !== undefined) headers.push(['Idempotency-Key', key]);
        if (type !== undefined) headers.push(['Content-Type', type]);
        const answer = await send({ method: 'POST', target: '/v1/purchases', headers, body });
        const outcome = checkAnswer(answer);
        if (answer?.status === 201) await expectStoredAsSent(answer, body);
        return outcome;
      },
    );
    await bothAlive();
  });

  /** A 201's order reads back exactly as it was sent: nothing was changed on the way. */
  async function expectStoredAsSent(answer: RawAnswer, body: Uint8Array): Promise<void> {
    const sentBody = JSON.parse(Buffer.from(body).toString('utf8')) as SentPurchase;
    const created = JSON.parse(answer.body) as SentPurchase & { orderId: string };
    expect(created.customerId).toBe(sentBody.customerId);
    expect(created.items).toEqual(sentBody.items);
    const stored = await send({
      method: 'GET',
      target: `/v1/purchases/${created.orderId}`,
      headers: [],
    });
    expect(stored?.status).toBe(200);
    expect(JSON.parse(stored!.body)).toEqual(created);
  }

  it('GET /v1/purchases/:id: any id', async () => {
    await fuzz('HTTP GET /v1/purchases/:id', urlPart, async (id) =>
      checkAnswer(await send({ method: 'GET', target: `/v1/purchases/${id}`, headers: [] })),
    );
    await bothAlive();
  });

  it('GET /v1/stock: any pageSize, pageToken and other query parameters', async () => {
    const query = fc.array(
      fc.tuple(
        fc.oneof(fc.constantFrom('pageSize', 'pageToken'), urlPart),
        fc.oneof(urlPart, hostileNumber.map(String)),
      ),
      { maxLength: 4 },
    );
    await fuzz('HTTP GET /v1/stock', query, async (parameters) => {
      const search = parameters.map(([name, value]) => `${name}=${value}`).join('&');
      return checkAnswer(await send({ method: 'GET', target: `/v1/stock?${search}`, headers: [] }));
    });
    await bothAlive();
  });

  it('GET /v1/stock/:sku: any SKU', async () => {
    await fuzz(
      'HTTP GET /v1/stock/:sku',
      fc.oneof(fc.constantFrom(...SKUS), urlPart),
      async (sku) =>
        checkAnswer(await send({ method: 'GET', target: `/v1/stock/${sku}`, headers: [] })),
    );
    await bothAlive();
  });

  it('any other method and path, with any headers', async () => {
    const request = fc.record({
      method: fc.constantFrom(
        'GET',
        'POST',
        'PUT',
        'DELETE',
        'PATCH',
        'HEAD',
        'OPTIONS',
        'TRACE',
        'BREW',
        'get',
      ),
      path: fc.array(urlPart, { maxLength: 4 }).map((parts) => `/${parts.join('/')}`),
      headers: fc.array(
        fc.tuple(
          fc.constantFrom(
            'X-Any',
            'Accept',
            'Accept-Encoding',
            'Content-Type',
            'Idempotency-Key',
            'Transfer-Encoding',
          ),
          headerValue,
        ),
        { maxLength: 3 },
      ),
      body: fc.option(garbageBytes(), { nil: undefined }),
    });
    await fuzz(
      'HTTP other routes and methods',
      request,
      async ({ method, path, headers, body }) => {
        return checkAnswer(await send({ method, target: path, headers, body }), method);
      },
    );
    await bothAlive();
  });
});

/** A client frame: mostly well formed with a hostile payload, else any field wrong. */
const clientFrame = fc.record({
  fin: fc.oneof(
    { weight: 4, arbitrary: fc.constant(true) },
    { weight: 1, arbitrary: fc.boolean() },
  ),
  rsv: fc.oneof(
    { weight: 4, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 7 }) },
  ),
  // Text, binary, close, ping, pong and continuation, or any of the 16, reserved ones too.
  opcode: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(1, 2, 8, 9, 10, 0) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) },
  ),
  masked: fc.oneof(
    { weight: 4, arbitrary: fc.constant(true) },
    { weight: 1, arbitrary: fc.boolean() },
  ),
  payload: fc.oneof(
    { weight: 3, arbitrary: hostileString().map((text) => Buffer.from(text)) },
    { weight: 2, arbitrary: garbageBytes() },
    // Past the feed's largest message (1 KiB) and past a control frame's 125 bytes.
    {
      weight: 1,
      arbitrary: fc.integer({ min: 126, max: 70_000 }).map((n) => Buffer.alloc(n, 'a')),
    },
  ),
});

/** The query of the upgrade, as name-value pairs. */
const liveQuery: fc.Arbitrary<[string, string][]> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<[string, string][]>([]) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 20 }), fc.uuid())
      .map(([since, epoch]): [string, string][] => [
        ['since', String(since)],
        ['epoch', epoch],
      ]),
  },
  {
    weight: 2,
    arbitrary: fc.array(
      fc.tuple(
        fc.oneof(fc.constantFrom('since', 'epoch'), urlPart),
        fc.oneof(
          fc.constantFrom('0', '1', '999999999999999', '1000000000000000'),
          fc.uuid().map(String),
          hostileNumber.map(String),
          urlPart,
        ),
      ),
      { maxLength: 3 },
    ),
  },
);

/** What the live feed is sent by a hostile client: its handshake, then anything at all. */
const liveUpgrade = fc.record({
  query: liveQuery,
  // Mostly let in (no Origin, or its own), so that the frames after the handshake are read.
  origin: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(undefined, 'own') },
    { weight: 1, arbitrary: fc.constantFrom('https://evil.example', 'null') },
    { weight: 1, arbitrary: headerValue },
  ),
  key: fc.oneof(
    { weight: 4, arbitrary: fc.constant('valid') },
    headerValue,
    fc.constant(undefined),
  ),
  version: fc.oneof(
    { weight: 4, arbitrary: fc.constant('13') },
    fc.constantFrom('8', '0', undefined),
    headerValue,
  ),
  extensions: fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    fc.constantFrom('permessage-deflate', 'permessage-deflate; client_max_window_bits=0'),
    headerValue,
  ),
  after: fc.oneof(
    { weight: 4, arbitrary: fc.array(clientFrame, { maxLength: 4 }) },
    { weight: 1, arbitrary: garbageBytes() },
  ),
});

/**
 * A refused handshake is a 4xx in the documented shape, or, for a request the WebSocket
 * library itself refuses before any route runs (a bad Sec-WebSocket-Key or version), its plain
 * message naming the problem. An accepted one gets the feed's JSON messages, or a close frame.
 */
function checkUpgrade(answer: RawUpgradeAnswer | undefined): string {
  if (!answer) throw new Error('the server closed the connection without an answer');
  if (answer.status !== 101) {
    const body = answer.body.toString('utf8');
    if (answer.headers['content-type']?.startsWith('application/json')) {
      checkAnswer({ status: answer.status, headers: answer.headers, body });
    } else {
      expect(answer.status, body).toBeGreaterThanOrEqual(400);
      expect(answer.status, body).toBeLessThan(500);
      expect(body, `${answer.status} with no message`).not.toBe('');
    }
    return String(answer.status);
  }
  // The feed sends its snapshot the moment it accepts a client, before it reads anything the
  // client sent (whose epoch, random here, never matches the feed's: no replay).
  const [first, ...rest] = serverFrames(answer.body);
  expect(first?.opcode, 'an accepted client got no snapshot').toBe(1);
  expect(JSON.parse(first!.payload.toString('utf8'))).toMatchObject({ type: 'snapshot' });
  // Then, for what the client sent: a pong for a ping, or a close; and the feed's heartbeat
  // ping (opcode 9) when its interval falls during the case (seen once in 10,000 cases).
  for (const frame of rest) {
    expect([1, 8, 9, 10], `opcode ${frame.opcode}`).toContain(frame.opcode);
  }
  const frames = [first!, ...rest];
  const close = frames.find((frame) => frame.opcode === 8);
  if (!close || close.payload.length < 2) return '101';
  // A protocol error, a message too big, invalid UTF-8: the close code says which. Never
  // 1011, an internal error: the 5xx of WebSockets.
  const code = close.payload.readUInt16BE(0);
  expect(code, close.payload.subarray(2).toString('utf8')).not.toBe(1011);
  return `101 close ${code}`;
}

describe('fuzzing the live feed (WebSocket)', () => {
  it('GET /v1/live: any query, Origin, Sec-WebSocket-* header, then any frames or bytes', async () => {
    await fuzz('WebSocket GET /v1/live', liveUpgrade, async (upgrade) => {
      const headers: [string, string][] = [];
      if (upgrade.origin === 'own') headers.push(['Origin', purchase.baseUrl]);
      else if (upgrade.origin !== undefined) headers.push(['Origin', upgrade.origin]);
      if (upgrade.key === 'valid') headers.push(['Sec-WebSocket-Key', webSocketKey()]);
      else if (upgrade.key !== undefined) headers.push(['Sec-WebSocket-Key', upgrade.key]);
      if (upgrade.version !== undefined) headers.push(['Sec-WebSocket-Version', upgrade.version]);
      if (upgrade.extensions !== undefined) {
        headers.push(['Sec-WebSocket-Extensions', upgrade.extensions]);
      }
      const request: RawUpgrade = {
        target: `/v1/live?${upgrade.query.map(([name, value]) => `${name}=${value}`).join('&')}`,
        headers,
        after: Array.isArray(upgrade.after)
          ? Buffer.concat(upgrade.after.map(encodeFrame))
          : upgrade.after,
      };
      sent += 1;
      if (sent % 50 === 0) await bothAlive();
      return checkUpgrade(await rawUpgrade(port, request));
    });
    await bothAlive();
    // Every fuzzing client is gone from the feed, and a well-behaved one still gets the stock.
    await expect.poll(liveClients, { timeout: 10_000 }).toBe(0);
    const snapshot = await firstMessage(`${purchase.baseUrl.replace('http:', 'ws:')}/v1/live`);
    expect(snapshot).toMatchObject({ type: 'snapshot', stock: expect.any(Array) });
  });
});

/** purchase's live_clients gauge, from its /metrics. */
async function liveClients(): Promise<number> {
  const text = await (await fetch(`${purchase.opsUrl}/metrics`)).text();
  return Number(/^live_clients(?:\{[^}]*\})? (\d+)$/m.exec(text)?.[1]);
}

function firstMessage(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('message', (data) => {
      resolve(JSON.parse((data as Buffer).toString()));
      socket.close();
    });
    socket.once('error', reject);
  });
}
