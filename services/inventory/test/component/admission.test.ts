import { status } from '@grpc/grpc-js';
import { connectBus, natsRequest, type Bus } from '@switchboard/bus';
import { InventoryServiceService } from '@switchboard/contracts';
import { createMetricsRegistry } from '@switchboard/observability';
import { testLogger } from '@switchboard/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  failureOf,
  givenStock,
  inSeconds,
  inventoryOnFreshDatabase,
  natsOfThisFile,
  unique,
  type InventoryUnderTest,
} from '../support/inventory-under-test.js';

let db: pg.Pool;
let inventory: InventoryUnderTest;
let bus: Bus;

// One pool connection, so one API call at a time, and no queue: the second call is refused.
beforeAll(async () => {
  ({ db, inventory } = await inventoryOnFreshDatabase('admission', {
    DB_POOL_MAX: '1',
    ADMISSION_QUEUE_SIZE: '0',
  }));
  await givenStock(db, { 'sku-held': 10, 'sku-free': 10 });
  bus = await connectBus({
    servers: (await natsOfThisFile()).url,
    name: 'admission-test',
    logger: testLogger('admission-test'),
    registry: createMetricsRegistry({ service: 'admission-test' }),
  });
});

afterAll(async () => {
  await bus?.drain();
});

async function metric(name: string, labels: Record<string, string> = {}) {
  const values = (await inventory.registry.getSingleMetric(name)!.get()).values;
  return values.find((value) =>
    Object.entries({ limiter: 'inventory-api', ...labels }).every(
      ([key, label]) => value.labels[key] === label,
    ),
  )?.value;
}

/** inventory's sessions blocked on a row lock. */
async function callsWaitingOnALock(): Promise<number> {
  const result = await db.query<{ waiting: number }>(
    `SELECT count(*)::int AS waiting FROM pg_stat_activity
     WHERE application_name = 'inventory' AND wait_event_type = 'Lock'`,
  );
  return result.rows[0]?.waiting ?? -1;
}

/** GetStock over the NATS service, as the NATS adapter sends it, without retries. */
function getStockOverNats(sku: string) {
  return natsRequest(
    bus,
    'inventory.v1.GetStock',
    InventoryServiceService.getStock.requestSerialize({ sku }),
    { ...inSeconds(10), peerName: 'inventory' },
  );
}

describe('admission control of the Inventory API', () => {
  it('refuses calls at once while every pool connection is taken (gRPC RESOURCE_EXHAUSTED, NATS OVERLOADED), then serves again', async () => {
    // A transaction of the test's holds sku-held's row, so a Reserve of it takes the one
    // connection and waits on the lock.
    const locker = await db.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`SELECT * FROM stock WHERE sku = 'sku-held' FOR UPDATE`);
      const held = inventory.client.reserve(
        { orderId: unique('order'), items: [{ sku: 'sku-held', quantity: 1 }], ttlSeconds: 60 },
        inSeconds(30),
      );
      await expect.poll(() => callsWaitingOnALock()).toBe(1);

      // Another SKU, no lock in the way: only the busy pool stands between it and an answer.
      // Without admission control it would wait for the connection until its deadline.
      const overGrpc = await failureOf(
        inventory.client.getStock({ sku: 'sku-free' }, inSeconds(10)),
      );
      expect(overGrpc).toMatchObject({
        code: 'OVERLOADED',
        message: 'inventory-api is at capacity (no slot came free in time); retry later',
        cause: { code: status.RESOURCE_EXHAUSTED },
      });
      const overNats = await failureOf(getStockOverNats('sku-free'));
      expect(overNats).toMatchObject({ code: 'OVERLOADED' });
      const release = await failureOf(
        inventory.client.release({ orderId: unique('order') }, inSeconds(10)),
      );
      expect(release).toMatchObject({ code: 'OVERLOADED' });
      expect(await metric('admission_requests_shed_total', { reason: 'limit' })).toBe(3);

      await locker.query('COMMIT');
      await expect(held).resolves.toMatchObject({ reservation: { orderId: expect.any(String) } });
    } finally {
      locker.release();
    }

    // The slot came back: no call holds it any more, and the next calls run.
    await expect.poll(() => metric('admission_in_flight')).toBe(0);
    await expect(
      inventory.client.getStock({ sku: 'sku-free' }, inSeconds(10)),
    ).resolves.toMatchObject({ stock: { sku: 'sku-free', available: 10 } });
    await expect(getStockOverNats('sku-free')).resolves.toBeInstanceOf(Uint8Array);
    expect(await metric('admission_limit')).toBe(1);
  });
});
