import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Metadata, credentials, status as GrpcStatus } from '@grpc/grpc-js';
import { headers, type MsgHdrs } from '@nats-io/transport-node';
import {
  ERROR_CODE_HEADER,
  EVENT_TYPE_HEADER,
  TIMEOUT_HEADER,
  connectBus,
  deadLetterSubject,
  publishEvent,
  type Bus,
} from '@switchboard/bus';
import { ORDER_CONFIRMED } from '@switchboard/events';
import {
  GetStockRequest,
  ListStockRequest,
  OrderConfirmed,
  ReleaseRequest,
  ReserveRequest,
} from '@switchboard/contracts';
import { isErrorCode } from '@switchboard/errors';
import { createMetricsRegistry } from '@switchboard/observability';
import { fuzz, fuzzRuns, garbageBytes, hostileString, testLogger } from '@switchboard/testing';
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORDER_EVENTS_CONSUMER } from '../../src/entry-points/nats/order-events-consumer.js';
import {
  givenStock,
  inSeconds,
  inventoryOnFreshDatabase,
  natsOfThisFile,
  type InventoryUnderTest,
} from '../support/inventory-under-test.js';

// Every entry point of inventory, fuzzed on one instance (one set of containers for the file).
// gRPC: whatever a caller sends to any method, over TCP or the Unix socket (well-formed
// protobuf with hostile values, or garbage bytes), the answer is OK or a documented status,
// never INTERNAL or UNKNOWN; whatever bytes reach the port (garbage, truncated HTTP/2 frames,
// bad HPACK), the server still answers a health check.
// NATS: every request to inventory.v1.* (any payload, any headers, a garbage timeout header)
// gets an answer that is OK or a documented error, never INTERNAL; every message on the
// ORDERS stream that the consumer cannot apply ends in the dead letters, and good events
// published after it are still applied.
const SKUS = ['sku-a', 'sku-b'];
const SKU = SKUS[0]!;
const SERVICE = '/switchboard.inventory.v1.InventoryService';
/** What a caller may get besides OK: the statuses of the error table but INTERNAL. */
const DOCUMENTED = new Set([
  GrpcStatus.INVALID_ARGUMENT,
  GrpcStatus.NOT_FOUND,
  GrpcStatus.ALREADY_EXISTS,
  GrpcStatus.FAILED_PRECONDITION,
  GrpcStatus.ABORTED,
]);

let scratch: string;
let db: pg.Pool;
let inventory: InventoryUnderTest;
let bus: Bus;
let targets: { transport: string; connect: () => ReturnType<typeof connect> }[];
const clients = new Map<string, Client>();

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'inventory-fuzz-'));
  const socketPath = join(scratch, 'inventory.sock');
  ({ db, inventory } = await inventoryOnFreshDatabase('inventory_fuzz', {
    GRPC_SOCKET_PATH: socketPath,
    // One delivery before dead-lettering, so a run does not wait out retries.
    CONSUMER_MAX_DELIVERIES: '1',
    CONSUMER_RETRY_DELAY_MS: '10',
  }));
  // Enough stock that the valid reservations of a long run never run short.
  await givenStock(db, Object.fromEntries(SKUS.map((sku) => [sku, 2_000_000_000])));
  const { grpcPort } = inventory;
  targets = [
    { transport: 'TCP', connect: () => connect(grpcPort, '127.0.0.1') },
    { transport: 'UDS', connect: () => connect(socketPath) },
  ];
  clients.set('TCP', new Client(`dns:///127.0.0.1:${grpcPort}`, credentials.createInsecure()));
  clients.set('UDS', new Client(`unix://${socketPath}`, credentials.createInsecure()));
  bus = await connectBus({
    servers: (await natsOfThisFile()).url,
    name: 'inventory-fuzz',
    logger: testLogger('inventory-fuzz'),
    registry: createMetricsRegistry({ service: 'inventory-fuzz' }),
  });
});

afterAll(async () => {
  for (const client of clients.values()) client.close();
  await bus?.drain();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const int32 = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.constantFrom(0, 1, -1, 1000, 1001, 3600, 3601, 500, 501, 2 ** 31 - 1, -(2 ** 31)),
);
const sku = fc.oneof(fc.constantFrom(...SKUS), hostileString());
/** Values of a valid Reserve, mixed with hostile ones, so that some reservations succeed. */
const orderId = fc.oneof(fc.uuid(), hostileString());
const quantity = fc.oneof(fc.integer({ min: 1, max: 3 }), int32);
const ttlSeconds = fc.oneof(fc.constant(600), int32);

/** One call: a method and the bytes of its request, well-formed or not. */
const call = fc.oneof(
  fc
    .record({
      orderId,
      items: fc.array(fc.record({ sku, quantity }), { maxLength: 4 }),
      ttlSeconds,
    })
    .map((request) => ({ method: 'Reserve', bytes: ReserveRequest.encode(request).finish() })),
  orderId.map((id) => ({
    method: 'Release',
    bytes: ReleaseRequest.encode({ orderId: id }).finish(),
  })),
  sku.map((value) => ({
    method: 'GetStock',
    bytes: GetStockRequest.encode({ sku: value }).finish(),
  })),
  sku.map((value) => ({
    method: 'WatchStock',
    bytes: GetStockRequest.encode({ sku: value }).finish(),
  })),
  fc
    .record({
      pageSize: int32,
      pageToken: fc.oneof(hostileString(), fc.constantFrom('c2t1LWE', '')),
    })
    .map((request) => ({
      method: 'ListStock',
      bytes: ListStockRequest.encode(request).finish(),
    })),
  fc
    .record({
      method: fc.constantFrom('Reserve', 'Release', 'GetStock', 'ListStock', 'WatchStock'),
      bytes: garbageBytes(),
    })
    .map(({ method, bytes }) => ({ method, bytes })),
);

/** Custom metadata a caller may send along: any legal key, any printable value. */
const metadata = fc.array(
  fc.tuple(
    fc.stringMatching(/^[a-z0-9_.-]{1,20}$/).filter((key) => !key.startsWith('grpc-')),
    fc.stringMatching(/^[ -~]{0,40}$/),
  ),
  { maxLength: 3 },
);

/** Sends the bytes as the method's request; resolves with the status (data ends a watch). */
function invoke(client: Client, method: string, bytes: Uint8Array, extra: [string, string][]) {
  const sent = new Metadata();
  for (const [key, value] of extra)
    sent.add(key, key.endsWith('-bin') ? Buffer.from(value) : value);
  const path = `${SERVICE}/${method}`;
  const identity = (value: Buffer) => value;
  const options = { deadline: new Date(Date.now() + 10_000) };
  return new Promise<{ code: GrpcStatus; details: string }>((resolve) => {
    if (method === 'WatchStock') {
      const stream = client.makeServerStreamRequest(
        path,
        identity,
        identity,
        Buffer.from(bytes),
        sent,
        options,
      );
      // A watch of a known SKU runs until cancelled: its first message is the answer.
      stream.on('data', () => {
        stream.cancel();
        resolve({ code: GrpcStatus.OK, details: 'first message' });
      });
      stream.on('status', (status: { code: GrpcStatus; details: string }) => resolve(status));
      stream.on('error', () => {});
      return;
    }
    client.makeUnaryRequest(path, identity, identity, Buffer.from(bytes), sent, options, (error) =>
      resolve(
        error ? { code: error.code, details: error.details } : { code: GrpcStatus.OK, details: '' },
      ),
    );
  });
}

/** grpc.health.v1 Check of the whole server: SERVING is the bytes 08 01. */
async function expectServing(client: Client): Promise<void> {
  const answer = await new Promise<Buffer>((resolve, reject) =>
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (value: Buffer) => value,
      (value: Buffer) => value,
      Buffer.alloc(0),
      new Metadata(),
      { deadline: new Date(Date.now() + 5_000) },
      (error, value) => (error ? reject(error) : resolve(value!)),
    ),
  );
  expect([...answer]).toEqual([0x08, 0x01]);
}

/** HTTP/2 frames by hand: 9 bytes of header (length, type, flags, stream id), then payload. */
function frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Uint8Array,
  length = payload.length,
) {
  const header = Buffer.alloc(9);
  header.writeUIntBE(length & 0xffffff, 0, 3);
  header.writeUInt8(type & 0xff, 3);
  header.writeUInt8(flags & 0xff, 4);
  header.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([header, payload]);
}
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const SETTINGS = frame(0x4, 0, 0, new Uint8Array());
const HEADERS = 0x1;
const END_HEADERS = 0x4;

/** Bytes a broken or hostile peer sends to the gRPC port. */
const wireGarbage = fc.oneof(
  garbageBytes({ maxLength: 2048 }).map((bytes) => ({
    kind: 'garbage',
    bytes: Buffer.from(bytes),
  })),
  garbageBytes().map((bytes) => ({
    kind: 'preface+garbage',
    bytes: Buffer.concat([PREFACE, bytes]),
  })),
  garbageBytes().map((block) => ({
    // A HEADERS frame whose HPACK block is random: a decoding error for the connection.
    kind: 'bad HPACK',
    bytes: Buffer.concat([PREFACE, SETTINGS, frame(HEADERS, END_HEADERS, 1, block)]),
  })),
  fc
    .record({ block: garbageBytes({ maxLength: 64 }), missing: fc.integer({ min: 1, max: 1000 }) })
    .map(({ block, missing }) => ({
      // A frame that announces more bytes than come: the peer then goes away mid-frame.
      kind: 'truncated frame',
      bytes: Buffer.concat([
        PREFACE,
        SETTINGS,
        frame(HEADERS, END_HEADERS, 1, block, block.length + missing),
      ]),
    })),
  fc
    .array(
      fc.record({
        type: fc.integer({ min: 0, max: 255 }),
        flags: fc.integer({ min: 0, max: 255 }),
        stream: fc.integer({ min: 0, max: 9 }),
        payload: garbageBytes({ maxLength: 64 }),
      }),
      { minLength: 1, maxLength: 5 },
    )
    .map((frames) => ({
      kind: 'random frames',
      bytes: Buffer.concat([
        PREFACE,
        SETTINGS,
        ...frames.map((f) => frame(f.type, f.flags, f.stream, f.payload)),
      ]),
    })),
);

/**
 * Writes the bytes and hangs up (half-close: the server sees the end of its input), then
 * waits until the server closes too, or 10 ms pass.
 */
function sendRaw(open: () => ReturnType<typeof connect>, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = open();
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, 10);
    socket.on('connect', () => socket.end(bytes));
    socket.on('error', done);
    socket.on('close', done);
  });
}

describe('fuzzing the gRPC API', () => {
  for (const transport of ['TCP', 'UDS']) {
    it(`every method over ${transport}: any field values and garbage messages`, async () => {
      const client = clients.get(transport)!;
      await fuzz(
        `gRPC over ${transport}`,
        fc.record({ call, metadata }),
        async ({ call: { method, bytes }, metadata: extra }) => {
          const { code, details } = await invoke(client, method, bytes, extra);
          if (code !== GrpcStatus.OK && !DOCUMENTED.has(code))
            throw new Error(`${method} answered ${GrpcStatus[code]}: ${details}`);
          return `${method}:${GrpcStatus[code]}`;
        },
      );
      await expectServing(client);
    });

    it(`the ${transport} listener: garbage, truncated HTTP/2 frames and bad HPACK`, async () => {
      const client = clients.get(transport)!;
      const { connect: open } = targets.find((each) => each.transport === transport)!;
      await fuzz(`gRPC raw bytes over ${transport}`, wireGarbage, async ({ kind, bytes }) => {
        await sendRaw(open, bytes);
        await expectServing(client);
        return kind;
      });
    });
  }
});

/** A request to one endpoint: well-formed protobuf with hostile values, or garbage. */
const request = fc.oneof(
  fc
    .record({
      orderId,
      items: fc.array(fc.record({ sku, quantity }), { maxLength: 3 }),
      ttlSeconds,
    })
    .map((value) => ({ endpoint: 'Reserve', payload: ReserveRequest.encode(value).finish() })),
  orderId.map((id) => ({
    endpoint: 'Release',
    payload: ReleaseRequest.encode({ orderId: id }).finish(),
  })),
  sku.map((value) => ({
    endpoint: 'GetStock',
    payload: GetStockRequest.encode({ sku: value }).finish(),
  })),
  fc.record({ pageSize: int32, pageToken: hostileString() }).map((value) => ({
    endpoint: 'ListStock',
    payload: ListStockRequest.encode(value).finish(),
  })),
  fc
    .record({
      endpoint: fc.constantFrom('Reserve', 'Release', 'GetStock', 'ListStock'),
      payload: garbageBytes(),
    })
    .map(({ endpoint, payload }) => ({ endpoint, payload })),
);

/** A header value NATS can carry: anything but CR and LF. */
const headerValue = hostileString().map((value) => value.replace(/[\r\n]/g, ''));
/** Headers a caller may send: any legal names and values, and a garbage timeout. */
const requestHeaders = fc.record({
  timeout: fc.option(
    fc.oneof(
      headerValue,
      fc.constantFrom('-1', '0', '0.001', '1e400', 'NaN', '99999999999', '', '5000', ' 5000 '),
    ),
    { nil: undefined },
  ),
  other: fc.array(fc.tuple(fc.stringMatching(/^[!-9;-~]{1,20}$/), headerValue), { maxLength: 3 }),
});

function headersOf(spec: { timeout?: string; other: [string, string][] }): MsgHdrs {
  const sent = headers();
  if (spec.timeout !== undefined) sent.set(TIMEOUT_HEADER, spec.timeout);
  for (const [key, value] of spec.other) sent.append(key, value);
  return sent;
}

describe('fuzzing the NATS service', () => {
  it('inventory.v1.* endpoints: any payload and headers', async () => {
    await fuzz(
      'NATS inventory.v1.*',
      fc.record({ request, headers: requestHeaders }),
      async ({ request: { endpoint, payload }, headers: spec }) => {
        const reply = await bus.connection.request(`inventory.v1.${endpoint}`, payload, {
          timeout: 10_000,
          headers: headersOf(spec),
        });
        const code = reply.headers?.get(ERROR_CODE_HEADER) ?? '';
        if (reply.headers?.get('Nats-Service-Error-Code')) {
          expect(isErrorCode(code), `error code "${code}"`).toBe(true);
          if (code === 'INTERNAL')
            throw new Error(
              `${endpoint} answered INTERNAL: ${reply.headers.get('Nats-Service-Error')}`,
            );
        }
        return `${endpoint}:${code || 'OK'}`;
      },
    );
    // Still serving: a plain request answers.
    const reply = await bus.connection.request(
      'inventory.v1.GetStock',
      GetStockRequest.encode({ sku: SKU }).finish(),
      { timeout: 5_000 },
    );
    expect(reply.headers?.get(ERROR_CODE_HEADER) ?? '').toBe('');
  });
});

describe('fuzzing the OrderConfirmed consumer', () => {
  const deadLetters = deadLetterSubject(ORDER_CONFIRMED.stream, ORDER_EVENTS_CONSUMER.name);

  async function deadLetterCount(): Promise<number> {
    const info = await bus.manager.streams.info('DEADLETTER', { subjects_filter: deadLetters });
    return info.state.subjects?.[deadLetters] ?? 0;
  }

  /** A message on the ORDERS subject: garbage, or an event for an order that has no reservation. */
  const message = fc.record({
    payload: fc.oneof(
      garbageBytes(),
      fc
        // The order id is marked so that it is never one the gRPC and NATS properties above
        // reserved (a short hostile id such as "a" often is): confirming an order that exists
        // succeeds, and such a message would rightly not be dead-lettered.
        .record({
          eventId: hostileString(),
          orderId: hostileString().map((id) => `never-reserved:${id}`),
          customerId: hostileString(),
        })
        .map((event) =>
          OrderConfirmed.encode({ ...event, occurredAt: new Date(), items: [] }).finish(),
        ),
    ),
    typeHeader: fc.option(fc.oneof(headerValue, fc.constant(ORDER_CONFIRMED.name)), {
      nil: undefined,
    }),
    other: fc.array(fc.tuple(fc.stringMatching(/^[!-9;-~]{1,20}$/), headerValue), { maxLength: 2 }),
  });

  it('any payload and headers: the bad ones are dead-lettered, good events still applied', async () => {
    // A case is a batch of bad messages, then a good event: FUZZ_RUNS messages in all.
    const batch = fc.array(message, { minLength: 1, maxLength: 10 });
    await fuzz(
      'JetStream OrderConfirmed consumer',
      batch,
      async (messages) => {
        const before = await deadLetterCount();
        for (const { payload, typeHeader, other } of messages) {
          const sent = headers();
          if (typeHeader !== undefined) sent.set(EVENT_TYPE_HEADER, typeHeader);
          for (const [key, value] of other) sent.append(key, value);
          await bus.jetstream.publish(ORDER_CONFIRMED.subject, payload, {
            msgID: randomUUID(),
            headers: sent,
          });
        }
        const orderId = await goodEventPublished();
        await expect.poll(() => reservationState(orderId), { timeout: 30_000 }).toBe('COMMITTED');
        await expect.poll(deadLetterCount, { timeout: 30_000 }).toBe(before + messages.length);
        return `batch of ${messages.length}`;
      },
      { runs: Math.max(1, Math.ceil(fuzzRuns() / 5)) },
    );
  });

  /** Reserves a unit for a new order and publishes its OrderConfirmed; returns the order id. */
  async function goodEventPublished(): Promise<string> {
    const orderId = randomUUID();
    await inventory.client.reserve(
      { orderId, items: [{ sku: SKU, quantity: 1 }], ttlSeconds: 600 },
      inSeconds(5),
    );
    await publishEvent(bus, ORDER_CONFIRMED, {
      eventId: randomUUID(),
      occurredAt: new Date(),
      orderId,
      customerId: 'c-1',
      items: [{ sku: SKU, quantity: 1 }],
    });
    return orderId;
  }

  async function reservationState(orderId: string): Promise<string | undefined> {
    const result = await db.query<{ state: string }>(
      'SELECT state FROM reservations WHERE order_id = $1',
      [orderId],
    );
    return result.rows[0]?.state;
  }
});
