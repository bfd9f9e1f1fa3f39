import { randomUUID } from 'node:crypto';
import {
  DEAD_LETTER_HEADERS,
  connectBus,
  deadLetterSubject,
  publishEvent,
  type Bus,
} from '@switchboard/bus';
import { ORDER_CONFIRMED } from '@switchboard/events';
import type { OrderConfirmed } from '@switchboard/contracts';
import { StockChanged } from '@switchboard/contracts';
import { createMetricsRegistry } from '@switchboard/observability';
import { startNats, startPostgres, type StartedNats, testLogger } from '@switchboard/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freshDatabase,
  givenStock,
  inSeconds,
  startInventoryApp,
  stockRow,
  unique,
  type InventoryUnderTest,
  type PostgresContainer,
} from '../support/inventory-under-test.js';

// inventory in-process, with its real Postgres and a real NATS; the test publishes the
// OrderConfirmed events purchase would, and reads what inventory publishes.
let container: PostgresContainer;
let nats: StartedNats;
let db: pg.Pool;
let inventory: InventoryUnderTest;
let bus: Bus;

const MAX_DELIVERIES = 3;
const CONSUMER = 'inventory-orders';

beforeAll(async () => {
  [container, nats] = await Promise.all([startPostgres(), startNats()]);
  const database = await freshDatabase(container, 'order_events');
  db = database.pool;
  inventory = await startInventoryApp(database.url, {
    NATS_URL: nats.url,
    CONSUMER_MAX_DELIVERIES: String(MAX_DELIVERIES),
    CONSUMER_RETRY_DELAY_MS: '50',
    RESERVATION_SWEEP_INTERVAL_MS: '200',
  });
  bus = await connectBus({
    servers: nats.url,
    name: 'inventory-test',
    logger: testLogger('inventory-test'),
    registry: createMetricsRegistry({ service: 'inventory-test' }),
  });
});

afterAll(async () => {
  await bus?.drain();
  await inventory?.[Symbol.asyncDispose]();
  await db?.end();
  await Promise.all([container?.stop(), nats?.stop()]);
});

/** An order with a reservation of `quantity` units of a new SKU holding `onHand`. */
async function reservedOrder(quantity: number, onHand = 10, ttlSeconds = 600) {
  const sku = unique('sku');
  await givenStock(db, { [sku]: onHand });
  const orderId = unique('order');
  await inventory.client.reserve({ orderId, items: [{ sku, quantity }], ttlSeconds }, inSeconds(5));
  return { sku, orderId };
}

function confirmation(orderId: string, sku: string, quantity: number): OrderConfirmed {
  return {
    eventId: randomUUID(),
    occurredAt: new Date(),
    orderId,
    customerId: 'c-1',
    items: [{ sku, quantity }],
  };
}

async function reservationState(orderId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ state: string }>(
    'SELECT state FROM reservations WHERE order_id = $1',
    [orderId],
  );
  return rows[0]?.state;
}

/** True once the consumer has nothing delivered and unacknowledged, nor waiting. */
async function consumerIdle(): Promise<boolean> {
  const info = await bus.manager.consumers.info('ORDERS', CONSUMER);
  return info.num_ack_pending === 0 && info.num_pending === 0;
}

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const values = (await inventory.registry.getSingleMetric(name)?.get())?.values ?? [];
  const value = values.find((candidate) =>
    Object.entries(labels).every(([key, wanted]) => candidate.labels[key] === wanted),
  );
  return value?.value ?? 0;
}

/** The StockChanged events of a SKU stored on INVENTORY, oldest first. */
async function stockChangesPublished(sku: string) {
  const { state } = await bus.manager.streams.info('INVENTORY');
  const changes: { onHand: number; reserved: number; available: number }[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
    const message = await bus.manager.streams.getMessage('INVENTORY', { seq });
    if (!message) continue;
    const event = StockChanged.decode(message.data);
    if (event.sku === sku) {
      changes.push({ onHand: event.onHand, reserved: event.reserved, available: event.available });
    }
  }
  return changes;
}

/** The dead letters of inventory's consumer whose original stream sequence is above `after`. */
async function deadLettersAfter(after: number) {
  const subject = deadLetterSubject('ORDERS', CONSUMER);
  const letters: Record<string, string>[] = [];
  let info;
  try {
    info = await bus.manager.streams.info('DEADLETTER', { subjects_filter: subject });
  } catch {
    return letters;
  }
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const message = await bus.manager.streams.getMessage('DEADLETTER', { seq });
    if (!message || message.subject !== subject) continue;
    const headers = Object.fromEntries(
      Object.values(DEAD_LETTER_HEADERS).map((name) => [name, message.header.get(name)]),
    );
    if (Number(headers[DEAD_LETTER_HEADERS.sequence]) > after) letters.push(headers);
  }
  return letters;
}

describe('an OrderConfirmed', () => {
  it('commits the reservation: the held units leave the shelf', async () => {
    const { sku, orderId } = await reservedOrder(4);

    await publishEvent(bus, ORDER_CONFIRMED, confirmation(orderId, sku, 4));

    await expect.poll(() => reservationState(orderId), { timeout: 10_000 }).toBe('COMMITTED');
    expect(await stockRow(db, sku)).toEqual({ onHand: 6, reserved: 0 });
  });

  it('published twice has one effect: JetStream drops the copy in its window, the inbox any later one', async () => {
    const { sku, orderId } = await reservedOrder(4);
    const event = confirmation(orderId, sku, 4);

    const first = await publishEvent(bus, ORDER_CONFIRMED, event);
    const copy = await publishEvent(bus, ORDER_CONFIRMED, event);
    // Past the duplicate window JetStream would store it again: the same event under
    // another message id is what the consumer then sees.
    const late = await bus.jetstream.publish(
      ORDER_CONFIRMED.subject,
      ORDER_CONFIRMED.encode(event),
      { msgID: randomUUID() },
    );

    expect(copy).toMatchObject({ duplicate: true, seq: first.seq });
    expect(late.duplicate).toBe(false);
    await expect.poll(() => reservationState(orderId), { timeout: 10_000 }).toBe('COMMITTED');
    await expect.poll(consumerIdle, { timeout: 10_000 }).toBe(true);
    expect(await stockRow(db, sku)).toEqual({ onHand: 6, reserved: 0 });
    const inbox = await db.query('SELECT consumer FROM inbox WHERE message_id = $1', [
      event.eventId,
    ]);
    expect(inbox.rows).toEqual([{ consumer: CONSUMER }]);
    // One StockChanged for the reservation, one for the commit: none for the late copy.
    await expect
      .poll(() => stockChangesPublished(sku), { timeout: 10_000 })
      .toEqual([
        { onHand: 10, reserved: 4, available: 6 },
        { onHand: 6, reserved: 0, available: 6 },
      ]);
  });

  it('for a reservation whose TTL ran out first takes the units again while they are available', async () => {
    const { sku, orderId } = await reservedOrder(3, 10, 1);
    await expect.poll(() => reservationState(orderId), { timeout: 10_000 }).toBe('RELEASED');

    await publishEvent(bus, ORDER_CONFIRMED, confirmation(orderId, sku, 3));

    await expect.poll(() => reservationState(orderId), { timeout: 10_000 }).toBe('COMMITTED');
    expect(await stockRow(db, sku)).toEqual({ onHand: 7, reserved: 0 });
  });
});

describe('a poison message', () => {
  it('that cannot be decoded goes to the dead-letter subject at once, and later messages still flow', async () => {
    const { sku, orderId } = await reservedOrder(2);
    const { seq } = await bus.jetstream.publish(
      ORDER_CONFIRMED.subject,
      new TextEncoder().encode('not a protobuf OrderConfirmed'),
    );

    await publishEvent(bus, ORDER_CONFIRMED, confirmation(orderId, sku, 2));

    await expect.poll(() => reservationState(orderId), { timeout: 10_000 }).toBe('COMMITTED');
    await expect
      .poll(() => deadLettersAfter(seq - 1), { timeout: 10_000 })
      .toEqual([
        expect.objectContaining({
          [DEAD_LETTER_HEADERS.reason]: 'unreadable',
          [DEAD_LETTER_HEADERS.sequence]: String(seq),
          [DEAD_LETTER_HEADERS.deliveries]: '1',
        }),
      ]);
  });

  it(`whose commit keeps failing goes to the dead-letter subject after ${MAX_DELIVERIES} deliveries, and later messages still flow`, async () => {
    const deadBefore = await metric('jetstream_consumer_dead_lettered_total', {
      reason: 'failed',
    });
    const ghost = unique('never-reserved');
    const { seq } = await publishEvent(bus, ORDER_CONFIRMED, confirmation(ghost, 'sku-x', 1));
    const { sku, orderId } = await reservedOrder(2);

    await publishEvent(bus, ORDER_CONFIRMED, confirmation(orderId, sku, 2));

    await expect.poll(() => reservationState(orderId), { timeout: 10_000 }).toBe('COMMITTED');
    await expect
      .poll(() => deadLettersAfter(seq - 1), { timeout: 10_000 })
      .toEqual([
        expect.objectContaining({
          [DEAD_LETTER_HEADERS.reason]: 'failed',
          [DEAD_LETTER_HEADERS.error]: `no reservation for order ${ghost}`,
          [DEAD_LETTER_HEADERS.sequence]: String(seq),
          [DEAD_LETTER_HEADERS.deliveries]: String(MAX_DELIVERIES),
        }),
      ]);
    await expect.poll(consumerIdle, { timeout: 10_000 }).toBe(true);
    expect(await metric('jetstream_consumer_dead_lettered_total', { reason: 'failed' })).toBe(
      deadBefore + 1,
    );
    expect(await metric('jetstream_consumer_redeliveries_total')).toBeGreaterThanOrEqual(
      MAX_DELIVERIES - 1,
    );
  });
});

describe('a reservation that is not committed', () => {
  it('is released once its TTL has passed, while one within its TTL keeps its units', async () => {
    const expiredBefore = await metric('inventory_reservations_expired_total');
    const { sku, orderId } = await reservedOrder(5, 10, 1);
    const held = await reservedOrder(5, 10, 600);
    expect(await stockRow(db, sku)).toEqual({ onHand: 10, reserved: 5 });

    await expect.poll(() => reservationState(orderId), { timeout: 10_000 }).toBe('RELEASED');

    expect(await stockRow(db, sku)).toEqual({ onHand: 10, reserved: 0 });
    const { stock } = await inventory.client.getStock({ sku }, inSeconds(5));
    expect(stock?.available).toBe(10);
    expect(await metric('inventory_reservations_expired_total')).toBeGreaterThan(expiredBefore);
    await expect
      .poll(() => stockChangesPublished(sku), { timeout: 10_000 })
      .toEqual([
        { onHand: 10, reserved: 5, available: 5 },
        { onHand: 10, reserved: 0, available: 10 },
      ]);
    // The sweep that released the first one passed the second by.
    expect(await reservationState(held.orderId)).toBe('RESERVED');
    expect(await stockRow(db, held.sku)).toEqual({ onHand: 10, reserved: 5 });
  });
});

describe('the outbox', () => {
  it('drains: every StockChanged written is published', async () => {
    await reservedOrder(1);
    await expect
      .poll(
        async () => (await db.query('SELECT 1 FROM outbox WHERE published_at IS NULL')).rowCount,
        { timeout: 10_000 },
      )
      .toBe(0);
    const metrics = await (await fetch(`${inventory.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/^outbox_pending_events\{[^}]*\} 0$/m);
    expect(metrics).toMatch(
      /^jetstream_consumer_deliveries_total\{[^}]*consumer="inventory-orders"[^}]*\} [1-9]/m,
    );
  });
});
