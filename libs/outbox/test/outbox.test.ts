import { randomUUID } from 'node:crypto';
import {
  connectBus,
  encodeEvent,
  ensureStreams,
  publishEncodedEvent,
  type Bus,
  type EncodedEvent,
} from '@switchboard/bus';
import { ORDERS_STREAM, ORDER_CONFIRMED } from '@switchboard/events';
import { OrderConfirmed } from '@switchboard/contracts';
import { createMetricsRegistry } from '@switchboard/observability';
import {
  createDatabase,
  startNats,
  startPostgres,
  type StartedNats,
  testLogger,
} from '@switchboard/testing';
import type { StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import pg from 'pg';
import type { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createOutboxRelay,
  forgetInboxMessages,
  recordInboxMessages,
  writeOutboxEvents,
} from '../src/index.js';
import { OUTBOX_SCHEMA } from './support/schema.js';

const logger = testLogger('outbox-test');
let postgres: StartedPostgreSqlContainer;
let nats: StartedNats;
let pool: pg.Pool;
let bus: Bus;
let databases = 0;

beforeAll(async () => {
  [postgres, nats] = await Promise.all([startPostgres(), startNats()]);
  bus = await connectBus({
    servers: nats.url,
    name: 'outbox-test',
    logger,
    registry: createMetricsRegistry({ service: 'outbox-test-bus' }),
    reconnectWaitMs: 200,
    reconnectJitterMs: 100,
  });
  await ensureStreams(bus, [ORDERS_STREAM]);
});

afterAll(async () => {
  await bus?.drain();
  await pool?.end();
  await Promise.all([postgres?.stop(), nats?.stop()]);
});

beforeEach(async () => {
  // Each test gets an empty outbox of its own.
  await pool?.end();
  databases += 1;
  pool = new pg.Pool({
    connectionString: await createDatabase(postgres, `outbox_${databases}`),
    max: 6,
  });
  await pool.query(OUTBOX_SCHEMA);
});

function orderEvent(): EncodedEvent {
  return encodeEvent(ORDER_CONFIRMED, {
    eventId: randomUUID(),
    occurredAt: new Date(),
    orderId: randomUUID(),
    customerId: 'c-1',
    items: [{ sku: 'sku-1', quantity: 1 }],
  });
}

async function committed(events: EncodedEvent[]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await writeOutboxEvents(client, events);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

async function unpublished(): Promise<number> {
  const { rows } = await pool.query<{ count: number }>(
    'SELECT count(*)::int AS count FROM outbox WHERE published_at IS NULL',
  );
  return rows[0]!.count;
}

/** The event ids stored on ORDERS after a sequence, with their Nats-Msg-Id headers. */
async function storedAfter(sequence: number) {
  const info = await bus.manager.streams.info('ORDERS');
  const stored: { eventId: string; messageId: string | undefined }[] = [];
  for (let seq = sequence + 1; seq <= info.state.last_seq; seq++) {
    const message = await bus.manager.streams.getMessage('ORDERS', { seq });
    if (!message) continue;
    stored.push({
      eventId: OrderConfirmed.decode(message.data).eventId,
      messageId: message.header.get('Nats-Msg-Id'),
    });
  }
  return stored;
}

async function lastSequence(): Promise<number> {
  return (await bus.manager.streams.info('ORDERS')).state.last_seq;
}

async function metric(registry: Registry, name: string): Promise<number> {
  return (await registry.getSingleMetric(name)?.get())?.values[0]?.value ?? 0;
}

function relay(registry: Registry, publish = (event: EncodedEvent) => publishToBus(event)) {
  return createOutboxRelay({
    pool,
    publish,
    logger,
    registry,
    batchSize: 20,
    pollIntervalMs: 100,
    retryDelayMs: 100,
    maxRetryDelayMs: 500,
  });
}

async function publishToBus(event: EncodedEvent): Promise<void> {
  await publishEncodedEvent(bus, event, { timeoutMs: 1_000 });
}

describe('the outbox relay', () => {
  it('publishes committed events in order, with the event id as Nats-Msg-Id, and marks them published', async () => {
    const registry = createMetricsRegistry({ service: 'relay-order' });
    const events = Array.from({ length: 45 }, orderEvent);
    const before = await lastSequence();
    await committed(events);
    const outbox = relay(registry);
    expect(await metric(registry, 'outbox_pending_events')).toBe(45);
    expect(await metric(registry, 'outbox_oldest_pending_age_seconds')).toBeGreaterThan(0);

    outbox.start();
    try {
      await expect.poll(unpublished).toBe(0);
      expect(await storedAfter(before)).toEqual(
        events.map((event) => ({ eventId: event.eventId, messageId: event.eventId })),
      );
      expect(await metric(registry, 'outbox_published_total')).toBe(45);
      expect(await metric(registry, 'outbox_pending_events')).toBe(0);
      expect(await metric(registry, 'outbox_oldest_pending_age_seconds')).toBe(0);
    } finally {
      await outbox.stop();
    }
  });

  it('publishes nothing of a transaction that rolled back', async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await writeOutboxEvents(client, [orderEvent()]);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(await pool.query('SELECT 1 FROM outbox')).toMatchObject({ rowCount: 0 });
  });

  it('keeps events while NATS is down and publishes each of them once when it is back', async () => {
    const registry = createMetricsRegistry({ service: 'relay-outage' });
    const outbox = relay(registry);
    outbox.start();
    const before = await lastSequence();
    const events: EncodedEvent[] = [];
    let halted = false;
    try {
      await nats.halt();
      halted = true;
      for (let i = 0; i < 10; i++) {
        const event = orderEvent();
        events.push(event);
        await committed([event]);
        outbox.wake();
      }
      await expect.poll(() => metric(registry, 'outbox_publish_failures_total')).toBeGreaterThan(0);
      expect(await unpublished()).toBe(10);
      const { rows } = await pool.query<{ attempts: number; last_error: string }>(
        'SELECT attempts, last_error FROM outbox ORDER BY id LIMIT 1',
      );
      expect(rows[0]!.attempts).toBeGreaterThan(0);
      expect(rows[0]!.last_error).toEqual(expect.any(String));

      await nats.resume();
      halted = false;

      await expect.poll(unpublished, { timeout: 20_000 }).toBe(0);
      // Each event once: any copy a lost ack caused was dropped by the duplicate window.
      expect(await storedAfter(before)).toEqual(
        events.map((event) => ({ eventId: event.eventId, messageId: event.eventId })),
      );
    } finally {
      if (halted) await nats.resume();
      await outbox.stop();
    }
  });

  it('run by two replicas side by side, publishes every event exactly once', async () => {
    const published = new Map<string, number>();
    const counting = (event: EncodedEvent) => {
      published.set(event.eventId, (published.get(event.eventId) ?? 0) + 1);
      return publishToBus(event);
    };
    const replicas = [
      relay(createMetricsRegistry({ service: 'relay-a' }), counting),
      relay(createMetricsRegistry({ service: 'relay-b' }), counting),
    ];
    for (const replica of replicas) replica.start();
    try {
      const events = Array.from({ length: 200 }, orderEvent);
      for (let i = 0; i < events.length; i += 10) {
        await committed(events.slice(i, i + 10));
        for (const replica of replicas) replica.wake();
      }

      await expect.poll(unpublished).toBe(0);
      expect(published.size).toBe(200);
      expect([...published.values()].every((count) => count === 1)).toBe(true);
    } finally {
      await Promise.all(replicas.map((replica) => replica.stop()));
    }
  });
});

describe('stopping the outbox relay', () => {
  it('does not wait out the poll interval when it comes during a round', async () => {
    let releasePublish = () => {};
    const publishHeld = new Promise<void>((resolve) => (releasePublish = resolve));
    let publishing = () => {};
    const publishStarted = new Promise<void>((resolve) => (publishing = resolve));
    const slowRelay = createOutboxRelay({
      pool,
      publish: async (event) => {
        publishing();
        await publishHeld;
        await publishToBus(event);
      },
      logger,
      registry: createMetricsRegistry({ service: 'relay-stop' }),
      pollIntervalMs: 60_000,
    });
    await committed([orderEvent()]);
    slowRelay.start();
    await publishStarted;
    const startedAt = performance.now();
    const stopping = slowRelay.stop();
    releasePublish();
    await stopping;
    // Waiting out the poll interval would take 60 s.
    expect(performance.now() - startedAt).toBeLessThan(5_000);
    expect(await unpublished()).toBe(0);
  });
});

describe('the inbox', () => {
  it('records a message once: the second time it says the message was seen', async () => {
    const [first, second] = [randomUUID(), randomUUID()];

    expect(await recordInboxMessages(pool, 'inventory-orders', [first])).toEqual(new Set([first]));
    expect(await recordInboxMessages(pool, 'inventory-orders', [second, first])).toEqual(
      new Set([second]),
    );
    // Another consumer of the same message keeps its own record.
    expect(await recordInboxMessages(pool, 'another-consumer', [first])).toEqual(new Set([first]));
  });

  it('forgets messages taken back, so they count as new when they come again', async () => {
    const [kept, takenBack] = [randomUUID(), randomUUID()];
    await recordInboxMessages(pool, 'inventory-orders', [kept, takenBack]);

    await forgetInboxMessages(pool, 'inventory-orders', [takenBack]);

    expect(await recordInboxMessages(pool, 'inventory-orders', [kept, takenBack])).toEqual(
      new Set([takenBack]),
    );
  });
});
