import { randomUUID } from 'node:crypto';
import { connectBus, ensureStreams, publishEvent, type Bus } from '@switchboard/bus';
import { ORDERS_STREAM, ORDER_CONFIRMED } from '@switchboard/events';
import { InventoryServiceService } from '@switchboard/contracts';
import { createGrpcClient } from '@switchboard/grpc';
import { createMetricsRegistry } from '@switchboard/observability';
import {
  createDatabase,
  databaseUrlInNetwork,
  startInventory,
  startNats,
  startPostgres,
  type StartedNats,
  testLogger,
} from '@switchboard/testing';
import pg from 'pg';
import {
  Network,
  getContainerRuntimeClient,
  type StartedNetwork,
  type StartedTestContainer,
} from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSeconds, type PostgresContainer } from '../support/inventory-under-test.js';

// inventory as it ships (its image, built from the Dockerfile) runs as its own process in a
// container, so it can be killed for real: SIGKILL, no graceful stop, no ack sent.
let network: StartedNetwork;
let postgres: PostgresContainer;
let nats: StartedNats;
let inventory: StartedTestContainer & { grpcTarget: string };
let db: pg.Pool;
let bus: Bus;

const ORDERS = 400;
const ON_HAND = 1_000;
const SKU = 'sku-crash';

beforeAll(async () => {
  network = await new Network().start();
  [postgres, nats] = await Promise.all([startPostgres({ network }), startNats({ network })]);
  db = new pg.Pool({ connectionString: await createDatabase(postgres, 'inventory'), max: 4 });
  bus = await connectBus({
    servers: nats.url,
    name: 'crash-test',
    logger: testLogger('crash-test'),
    registry: createMetricsRegistry({ service: 'crash-test' }),
  });
  // The test publishes as purchase does, and creates purchase's stream as purchase does.
  await ensureStreams(bus, [ORDERS_STREAM]);
  inventory = await startInventory({
    network,
    databaseUrl: databaseUrlInNetwork('inventory'),
    natsUrl: nats.urlInNetwork,
    products: [{ sku: SKU, name: 'Crash test dummy', onHand: ON_HAND }],
    // Batches of Reserves of one SKU queue on its row lock: here they may wait their whole
    // deadline for a connection (this test is about crash recovery, not load shedding).
    env: { ADMISSION_QUEUE_TIMEOUT_MS: '10000' },
  });
}, 600_000);

afterAll(async () => {
  await bus?.drain();
  await db?.end();
  await inventory?.stop();
  await Promise.all([postgres?.stop(), nats?.stop()]);
  await network?.stop();
});

async function committed(): Promise<number> {
  const { rows } = await db.query<{ count: number }>(
    `SELECT count(*)::int AS count FROM reservations WHERE state = 'COMMITTED'`,
  );
  return rows[0]!.count;
}

/** Runs the calls `width` at a time. */
async function inBatches<T>(items: T[], width: number, call: (item: T) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += width) {
    await Promise.all(items.slice(i, i + width).map(call));
  }
}

describe('inventory killed (SIGKILL) while it consumes order events', () => {
  it('loses no event and commits no reservation twice once it is back', async () => {
    const client = createGrpcClient(InventoryServiceService, inventory.grpcTarget, {
      registry: createMetricsRegistry({ service: 'crash-test-client' }),
      peerName: 'inventory',
    });
    const orderIds = Array.from({ length: ORDERS }, () => randomUUID());
    try {
      await inBatches(orderIds, 25, (orderId) =>
        client.reserve(
          { orderId, items: [{ sku: SKU, quantity: 1 }], ttlSeconds: 600 },
          inSeconds(10),
        ),
      );
    } finally {
      client.close();
    }

    // Every confirmation is in the stream before the kill: none can be lost by purchase.
    const publishing = inBatches(orderIds, 50, (orderId) =>
      publishEvent(bus, ORDER_CONFIRMED, {
        eventId: randomUUID(),
        occurredAt: new Date(),
        orderId,
        customerId: 'c-crash',
        items: [{ sku: SKU, quantity: 1 }],
      }),
    );
    await expect.poll(committed, { interval: 5, timeout: 20_000 }).toBeGreaterThanOrEqual(20);
    const runtime = await getContainerRuntimeClient();
    const container = runtime.container.getById(inventory.getId());
    await container.kill({ signal: 'SIGKILL' });
    const committedAtKill = await committed();
    await publishing;

    // Mid-stream: some were committed, the rest were waiting or in flight.
    expect(committedAtKill).toBeGreaterThan(0);
    expect(committedAtKill).toBeLessThan(ORDERS);

    await container.start();

    // What the dead process held unacknowledged comes again after the consumer's ack wait.
    await expect.poll(committed, { interval: 250, timeout: 90_000 }).toBe(ORDERS);
    const stock = await db.query('SELECT on_hand, reserved FROM stock WHERE sku = $1', [SKU]);
    expect(stock.rows).toEqual([{ on_hand: ON_HAND - ORDERS, reserved: 0 }]);
    const inbox = await db.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM inbox WHERE consumer = 'inventory-orders'`,
    );
    expect(inbox.rows[0]!.count).toBe(ORDERS);
    await expect
      .poll(
        async () =>
          (await bus.manager.consumers.info('ORDERS', 'inventory-orders')).num_ack_pending,
        {
          timeout: 30_000,
        },
      )
      .toBe(0);
    // Its own events got out too: the outbox drains after the restart.
    await expect
      .poll(
        async () => (await db.query('SELECT 1 FROM outbox WHERE published_at IS NULL')).rowCount,
        { timeout: 30_000 },
      )
      .toBe(0);
  });
});
