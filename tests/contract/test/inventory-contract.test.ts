import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ERROR_CODE_HEADER, TIMEOUT_HEADER, connectBus, type Bus } from '@switchboard/bus';
import { ensureDevCertificates } from '@switchboard/dev-certs';
import { STOCK_CHANGED, stockChangedSubject } from '@switchboard/events';
import { headers, type SubscriptionOptions } from '@nats-io/transport-node';
import { isAppError, type AppError } from '@switchboard/errors';
import {
  createInventoryClient,
  type InventoryClient,
  type InventoryClientDeps,
} from '@switchboard/inventory-client';
import { createMetricsRegistry } from '@switchboard/observability';
import {
  createDatabase,
  startNats,
  startPostgres,
  testLogger,
  startInventoryProcess,
} from '@switchboard/testing';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';

// One inventory process serves all three transports at once; the same suite runs over each,
// through the adapter INVENTORY_TARGET would pick in purchase.
const TRANSPORTS = ['gRPC over TCP', 'gRPC over a Unix socket', 'NATS request-reply'] as const;
type Transport = (typeof TRANSPORTS)[number];
/** Each transport's tests use their own SKUs, so they share one database without meeting. */
const prefixOf: Record<Transport, string> = {
  'gRPC over TCP': 'tcp',
  'gRPC over a Unix socket': 'uds',
  'NATS request-reply': 'nats',
};

// What beforeAll starts, stopped in reverse by afterAll.
const shared = new AsyncDisposableStack();
let bus: Bus;
const targets = {} as Record<Transport, string>;
let metricsUrl: string;
let natsUrl: string;
/** The contract client's mTLS over TCP, as purchase's in compose; the socket stays plaintext. */
let tcpTls: InventoryClientDeps['tls'];

beforeAll(async () => {
  const [postgres, nats] = await Promise.all([startPostgres(), startNats()]);
  shared.use(postgres);
  shared.use(nats);
  const scratch = await mkdtemp(join(tmpdir(), 'contract-'));
  shared.defer(() => rm(scratch, { recursive: true, force: true }));
  const seedFile = join(scratch, 'products.json');
  await writeFile(
    seedFile,
    JSON.stringify([
      ...Object.values(prefixOf).flatMap((prefix) => [
        { sku: `${prefix}-mug`, name: 'Mug', onHand: 100 },
        { sku: `${prefix}-poster`, name: 'Poster', onHand: 1 },
      ]),
      { sku: 'nats-watch-a', name: 'Watched', onHand: 10 },
      { sku: 'nats-watch-b', name: 'Not watched', onHand: 10 },
    ]),
  );
  const socketPath = join(scratch, 'run', 'inventory.sock');
  // Certificates made as compose's dev-certs makes them: inventory's TCP port is mTLS only.
  const certs = join(scratch, 'certs');
  await ensureDevCertificates({
    caDir: join(scratch, 'ca'),
    certsDir: certs,
    services: ['inventory', 'purchase'],
  });
  const filesOf = (service: string) => ({
    caFile: join(certs, service, 'ca.pem'),
    certFile: join(certs, service, 'cert.pem'),
    keyFile: join(certs, service, 'key.pem'),
  });
  tcpTls = { ...filesOf('purchase'), serverName: 'inventory' };
  const inventoryTls = filesOf('inventory');
  const inventory = shared.use(
    await startInventoryProcess('inventory', {
      GRPC_TLS_CA_FILE: inventoryTls.caFile,
      GRPC_TLS_CERT_FILE: inventoryTls.certFile,
      GRPC_TLS_KEY_FILE: inventoryTls.keyFile,
      DATABASE_URL: await createDatabase(postgres, 'inventory_contract'),
      NATS_URL: nats.url,
      GRPC_HOST: '127.0.0.1',
      GRPC_SOCKET_PATH: socketPath,
      OPS_HOST: '127.0.0.1',
      SEED_FILE: seedFile,
      SHUTDOWN_DELAY_MS: '0',
    }),
  );
  const { grpcPort, opsPort } = inventory.ready;
  metricsUrl = `http://127.0.0.1:${opsPort}/metrics`;
  natsUrl = nats.url;
  targets['gRPC over TCP'] = `dns:///127.0.0.1:${grpcPort}`;
  targets['gRPC over a Unix socket'] = `unix://${socketPath}`;
  targets['NATS request-reply'] = 'nats:inventory.v1';
  bus = await connectBus({
    servers: nats.url,
    name: 'contract-tests',
    logger: testLogger('contract-tests'),
    registry: createMetricsRegistry({ service: 'contract-tests' }),
  });
  shared.defer(() => bus.drain());
});

afterAll(() => shared.disposeAsync());

function inSeconds(seconds: number) {
  return { deadline: new Date(Date.now() + seconds * 1000) };
}

/** The AppError a call rejected with (fails the test if it answered). */
async function failureOf(call: Promise<unknown>): Promise<AppError> {
  const outcome = await call.then(
    (answer) => new Error(`expected a failure, got ${JSON.stringify(answer)}`),
    (error: unknown) => error,
  );
  if (!isAppError(outcome)) throw outcome;
  return outcome;
}

let orders = 0;
function newOrderId(): string {
  orders += 1;
  return `order-${orders}-${Date.now()}`;
}

describe.each(TRANSPORTS)('the Inventory contract over %s', (transport) => {
  let client: InventoryClient;
  const sku = (name: string) => `${prefixOf[transport]}-${name}`;

  beforeAll(() => {
    client = createInventoryClient(targets[transport], {
      bus,
      registry: createMetricsRegistry({ service: 'contract-client' }),
      logger: testLogger('contract-client'),
      keepaliveTimeMs: 30_000,
      tls: tcpTls,
    });
  });
  afterAll(() => client?.close());

  it('answers that inventory serves', async () => {
    await expect(client.checkHealth(inSeconds(5))).resolves.toBeUndefined();
  });

  it('reserves stock that is there, and the reservation shows in the stock', async () => {
    const before = await client.getStock(sku('mug'), inSeconds(5));
    expect(before).toMatchObject({ sku: sku('mug'), name: 'Mug', onHand: 100 });

    const state = await client.reserve(
      newOrderId(),
      [{ sku: sku('mug'), quantity: 3 }],
      60,
      inSeconds(5),
    );

    expect(state).toBe('RESERVED');
    const after = await client.getStock(sku('mug'), inSeconds(5));
    expect(after.reserved).toBe(before.reserved + 3);
    expect(after.available).toBe(before.available - 3);
  });

  it('when stock is short, reserves nothing and names the short SKUs', async () => {
    const error = await failureOf(
      client.reserve(
        newOrderId(),
        [
          { sku: sku('mug'), quantity: 1 },
          { sku: sku('poster'), quantity: 2 },
        ],
        60,
        inSeconds(5),
      ),
    );

    expect(error.code).toBe('INSUFFICIENT_STOCK');
    expect(error.details).toEqual({ skus: [sku('poster')] });
    expect((await client.getStock(sku('poster'), inSeconds(5))).reserved).toBe(0);
  });

  it('an unknown SKU is NOT_FOUND, naming the SKU', async () => {
    const unknown = sku('no-such-thing');
    const onRead = await failureOf(client.getStock(unknown, inSeconds(5)));
    const onReserve = await failureOf(
      client.reserve(newOrderId(), [{ sku: unknown, quantity: 1 }], 60, inSeconds(5)),
    );

    expect(onRead.code).toBe('NOT_FOUND');
    expect(onReserve.code).toBe('NOT_FOUND');
    expect(onReserve.details).toEqual({ skus: [unknown] });
  });

  it('a watch of a SKU that cannot exist (bad.sku, *) is NOT_FOUND, naming the SKU', async () => {
    for (const impossible of ['bad.sku', '*']) {
      const watching = (async () => {
        for await (const level of client.watchStock(impossible, {
          signal: new AbortController().signal,
        })) {
          throw new Error(`a watch of ${impossible} answered ${JSON.stringify(level)}`);
        }
      })();
      const error = await failureOf(watching);

      expect(error.code).toBe('NOT_FOUND');
      expect(error.details).toEqual({ skus: [impossible] });
    }
  });

  it('a request that breaks the rules is INVALID_ARGUMENT, listing every problem', async () => {
    const error = await failureOf(
      client.reserve('', [{ sku: sku('mug'), quantity: 0 }], 60, inSeconds(5)),
    );

    expect(error.code).toBe('INVALID_ARGUMENT');
    const fields = (error.details?.problems as { field: string }[]).map(({ field }) => field);
    expect(fields).toEqual(['order_id', 'items[0].quantity']);
  });

  it('a call whose deadline has passed fails with DEADLINE_EXCEEDED and reserves nothing', async () => {
    const before = await client.getStock(sku('mug'), inSeconds(5));
    const error = await failureOf(
      client.reserve(newOrderId(), [{ sku: sku('mug'), quantity: 1 }], 60, {
        deadline: new Date(Date.now() - 1),
      }),
    );

    expect(error.code).toBe('DEADLINE_EXCEEDED');
    expect((await client.getStock(sku('mug'), inSeconds(5))).reserved).toBe(before.reserved);
  });

  it('Reserve retried for the same order reserves nothing more and answers the same', async () => {
    const orderId = newOrderId();
    const items = [{ sku: sku('mug'), quantity: 2 }];
    const first = await client.reserve(orderId, items, 60, inSeconds(5));
    const held = (await client.getStock(sku('mug'), inSeconds(5))).reserved;

    const again = await client.reserve(orderId, items, 60, inSeconds(5));

    expect([first, again]).toEqual(['RESERVED', 'RESERVED']);
    expect((await client.getStock(sku('mug'), inSeconds(5))).reserved).toBe(held);
  });

  it('WatchStock sends the stock now, then the change a Reserve makes, and ends when cancelled', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    const watching = (async () => {
      for await (const level of client.watchStock(sku('poster'), { signal: controller.signal })) {
        seen.push(level.available);
        if (seen.length === 1) {
          await client.reserve(
            newOrderId(),
            [{ sku: sku('poster'), quantity: 1 }],
            60,
            inSeconds(5),
          );
        }
        if (seen.length === 2) controller.abort();
      }
    })();

    await expect(watching).resolves.toBeUndefined();
    expect(seen).toEqual([1, 0]);
  });

  it('a call its caller cancels fails with CANCELLED', async () => {
    const controller = new AbortController();
    const call = client.getStock(sku('mug'), { ...inSeconds(5), signal: controller.signal });
    controller.abort();

    expect((await failureOf(call)).code).toBe('CANCELLED');
  });
});

describe('WatchStock streams', () => {
  async function gauge(name: string): Promise<number> {
    const text = await (await fetch(metricsUrl)).text();
    const line = text.split('\n').find((each) => each.startsWith(name));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }

  it('1,000 watches opened and cancelled leave no stream and no watcher open on the server', async () => {
    const client = createInventoryClient(targets['gRPC over TCP'], {
      bus,
      registry: createMetricsRegistry({ service: 'contract-watch-client' }),
      logger: testLogger('contract-watch-client'),
      keepaliveTimeMs: 30_000,
      tls: tcpTls,
    });
    try {
      const controllers = Array.from({ length: 1_000 }, () => new AbortController());
      const firstLevels: Promise<void>[] = [];
      const watches = controllers.map(async (controller) => {
        let markFirst = () => {};
        firstLevels.push(new Promise((resolve) => (markFirst = resolve)));
        for await (const level of client.watchStock('tcp-mug', { signal: controller.signal })) {
          if (level.sku === 'tcp-mug') markFirst();
        }
      });
      await Promise.all(firstLevels);
      expect(await gauge('grpc_server_open_streams{')).toBe(1_000);
      expect(await gauge('inventory_stock_watchers')).toBe(1_000);

      for (const controller of controllers) controller.abort();
      await Promise.all(watches);

      await expect.poll(() => gauge('grpc_server_open_streams{'), { timeout: 10_000 }).toBe(0);
      await expect.poll(() => gauge('inventory_stock_watchers'), { timeout: 10_000 }).toBe(0);
    } finally {
      client.close();
    }
  });
});

describe('WatchStock over NATS', () => {
  /**
   * A connection of the watcher's own, with the subjects it subscribes to recorded and the
   * messages it receives counted (`stats().inMsgs`, whatever subscription they are for).
   */
  async function watcherBus(name: string) {
    const own = await connectBus({
      servers: natsUrl,
      name,
      logger: testLogger(name),
      registry: createMetricsRegistry({ service: name }),
    });
    const subscribed: string[] = [];
    const connection = new Proxy(own.connection, {
      get(target, property) {
        if (property === 'subscribe') {
          return (subject: string, options?: SubscriptionOptions) => {
            subscribed.push(subject);
            return target.subscribe(subject, options);
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
    const client = createInventoryClient(targets['NATS request-reply'], {
      bus: { ...own, connection },
      registry: createMetricsRegistry({ service: name }),
      logger: testLogger(name),
      keepaliveTimeMs: 30_000,
    });
    return {
      client,
      subscribed,
      received: () => own.connection.stats().inMsgs,
      async [Symbol.asyncDispose]() {
        client.close();
        await own.drain();
      },
    };
  }

  it("a watcher of one SKU subscribes to that SKU's subject and receives no other SKU's events", async () => {
    await using watcher = await watcherBus('contract-watcher');
    // Changes are made over gRPC, so no reply lands on the watcher's connection.
    const changer = createInventoryClient(targets['gRPC over TCP'], {
      bus,
      registry: createMetricsRegistry({ service: 'contract-changer' }),
      logger: testLogger('contract-changer'),
      keepaliveTimeMs: 30_000,
      tls: tcpTls,
    });
    onTestFinished(() => changer.close());
    const [watched, other] = ['nats-watch-a', 'nats-watch-b'];
    // Another SKU's events reach NATS: seen here on a subscription of the test's own.
    const otherEvents = bus.connection.subscribe(stockChangedSubject(other));
    const otherSeen: number[] = [];
    const followingOther = (async () => {
      for await (const message of otherEvents) {
        otherSeen.push(STOCK_CHANGED.decode(message.data).available);
      }
    })();

    const controller = new AbortController();
    const levels: number[] = [];
    let receivedAtFirstLevel = 0;
    let receivedAtChange = 0;
    for await (const level of watcher.client.watchStock(watched, { signal: controller.signal })) {
      levels.push(level.available);
      if (levels.length === 1) {
        receivedAtFirstLevel = watcher.received();
        // Three changes of the other SKU, published before the watched SKU's one change.
        for (let each = 0; each < 3; each += 1) {
          await changer.reserve(newOrderId(), [{ sku: other, quantity: 1 }], 60, inSeconds(5));
        }
        await expect.poll(() => otherSeen, { timeout: 10_000 }).toEqual([9, 8, 7]);
        await changer.reserve(newOrderId(), [{ sku: watched, quantity: 1 }], 60, inSeconds(5));
      } else {
        receivedAtChange = watcher.received();
        controller.abort();
      }
    }
    otherEvents.unsubscribe();
    await followingOther;

    expect(levels).toEqual([10, 9]);
    expect(watcher.subscribed).toEqual([stockChangedSubject(watched)]);
    // Between the first level and the change, the watcher's connection received one message:
    // the watched SKU's event. The other SKU's three, published before it, never came.
    expect(receivedAtChange - receivedAtFirstLevel).toBe(1);
  });

  it('a watch of a SKU that cannot be a subject token is NOT_FOUND and subscribes to nothing', async () => {
    await using watcher = await watcherBus('contract-impossible-watcher');
    for (const impossible of ['bad.sku', '*', '>', 'two words']) {
      const watching = (async () => {
        for await (const level of watcher.client.watchStock(impossible, {
          signal: new AbortController().signal,
        })) {
          throw new Error(`a watch of ${impossible} answered ${JSON.stringify(level)}`);
        }
      })();
      const error = await failureOf(watching);

      expect(error.code).toBe('NOT_FOUND');
      expect(error.details).toEqual({ skus: [impossible] });
    }
    expect(watcher.subscribed).toEqual([]);
  });
});

describe('inventory as a NATS service', () => {
  it('is a named, versioned service that lists its endpoints and counts their requests', async () => {
    const decode = (data: Uint8Array) => JSON.parse(new TextDecoder().decode(data)) as unknown;
    const info = decode((await bus.connection.request('$SRV.INFO.inventory', '')).data);
    const stats = decode((await bus.connection.request('$SRV.STATS.inventory', '')).data);

    expect(info).toMatchObject({ name: 'inventory', version: '1.0.0' });
    expect((info as { endpoints: { subject: string }[] }).endpoints.map((e) => e.subject)).toEqual([
      'inventory.v1.Reserve',
      'inventory.v1.Release',
      'inventory.v1.GetStock',
      'inventory.v1.ListStock',
    ]);
    const getStock = (
      stats as { endpoints: { name: string; num_requests: number }[] }
    ).endpoints.find((endpoint) => endpoint.name === 'GetStock');
    expect(getStock?.num_requests).toBeGreaterThan(0);
  });

  it('drops a request whose caller has no time left, answering 504 with the exact code', async () => {
    const sent = headers();
    sent.set(TIMEOUT_HEADER, '0');
    const reply = await bus.connection.request('inventory.v1.GetStock', new Uint8Array(), {
      timeout: 5_000,
      headers: sent,
    });

    expect(reply.headers?.get('Nats-Service-Error-Code')).toBe('504');
    expect(reply.headers?.get(ERROR_CODE_HEADER)).toBe('DEADLINE_EXCEEDED');
  });
});
