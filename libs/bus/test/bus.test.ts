import { execFileSync } from 'node:child_process';
import { OrderConfirmed } from '@switchboard/contracts';
import { createMetricsRegistry } from '@switchboard/observability';
import { capturingLogger, startNats, type StartedNats, testLogger } from '@switchboard/testing';
import type { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEAD_LETTER_HEADERS,
  assertDuplicateWindowCovers,
  deadLetterSubject,
  ensureDurableConsumer,
  ensureStreams,
  publishEvent,
  startDurableEventConsumer,
  startEventConsumer,
  type Bus,
  type EventType,
} from '../src/index.js';
import {
  DUPLICATE_WINDOW_MS,
  TEST_DEAD_LETTER_STREAM,
  connectTestBus,
  orderConfirmed,
  orderConfirmedType,
  orderEventsOfOwnStream,
  testStream,
} from './support/fixtures.js';

const PROVISIONED = [testStream('PROVISIONED', ['provisioned.>']), TEST_DEAD_LETTER_STREAM];

let nats: StartedNats;
const logger = testLogger('bus-test');

beforeAll(async () => {
  nats = await startNats();
});

afterAll(async () => {
  await nats?.stop();
});

const connect = (name: string, registry?: Registry) =>
  connectTestBus(nats.url, name, logger, registry);

function orderIdOf(data: Uint8Array): string {
  try {
    return OrderConfirmed.decode(data).orderId;
  } catch {
    return '(unreadable)';
  }
}

async function metricValue(registry: Registry, name: string, labels: Record<string, string>) {
  const metric = await registry.getSingleMetric(name)?.get();
  const value = metric?.values.find((candidate) =>
    Object.entries(labels).every(([key, wanted]) => candidate.labels[key] === wanted),
  );
  return value?.value ?? 0;
}

describe('provisioning', () => {
  it('creates the streams, and running it again from two connections at once changes nothing', async () => {
    await using first = await connect('provision-1');
    await using second = await connect('provision-2');

    await ensureStreams(first, PROVISIONED);
    await Promise.all([ensureStreams(first, PROVISIONED), ensureStreams(second, PROVISIONED)]);

    const stream = await first.manager.streams.info('PROVISIONED');
    expect(stream.config).toMatchObject({
      subjects: ['provisioned.>'],
      retention: 'limits',
      storage: 'file',
      duplicate_window: DUPLICATE_WINDOW_MS * 1_000_000,
    });
    const names: string[] = [];
    for await (const name of first.manager.streams.names()) names.push(name);
    expect(names).toEqual(expect.arrayContaining(['PROVISIONED', 'DEADLETTER']));
  });

  it('asks JetStream for the replica count it is given: a single server refuses 3', async () => {
    await using bus = await connect('provision-replicas');
    const replicated = testStream('REPLICATED', ['replicated.>']);

    // A cluster of three keeps 3 copies; this test's one server has no peers to hold them.
    await expect(ensureStreams(bus, [replicated], { replicas: 3 })).rejects.toThrow(/replicas/i);
    await ensureStreams(bus, [replicated], { replicas: 1 });
    const stream = await bus.manager.streams.info('REPLICATED');
    expect(stream.config.num_replicas).toBe(1);
  });

  it('asks again while JetStream does not answer (a paused server), then creates the stream', async () => {
    const { logger: busLogger, lines } = capturingLogger('provision-paused');
    await using bus = await connectTestBus(nats.url, 'provision-paused', busLogger);
    const paused = testStream('PAUSED', ['paused.>']);

    // A frozen server: connected, but its API requests time out, as on a cluster still
    // electing its leader or on a loaded machine.
    execFileSync('docker', ['pause', nats.getId()]);
    let failure: unknown;
    let provisioning: Promise<void>;
    try {
      provisioning = ensureStreams(bus, [paused]);
      provisioning.catch((error: unknown) => (failure = error));
      const retrying = () =>
        lines.some((line) => line.msg === 'JetStream cannot answer yet; trying again');
      await expect
        .poll(() => ({ failure, retrying: retrying() }), { timeout: 30_000 })
        .toEqual({ failure: undefined, retrying: true });
    } finally {
      execFileSync('docker', ['unpause', nats.getId()]);
    }

    await provisioning;
    const stream = await bus.manager.streams.info('PAUSED');
    expect(stream.config.subjects).toEqual(['paused.>']);
  });

  it('creates a durable consumer once and refuses to silently change its filter', async () => {
    await using bus = await connect('consumer-provision');
    const type = await orderEventsOfOwnStream(bus);
    const definition = {
      stream: type.stream,
      name: 'reader',
      filterSubject: type.subject,
      ackWaitMs: 5_000,
      maxAckPending: 100,
      description: 'test reader',
    };

    await ensureDurableConsumer(bus, definition);
    await ensureDurableConsumer(bus, { ...definition, ackWaitMs: 7_000 });

    const info = await bus.manager.consumers.info(type.stream, 'reader');
    expect(info.config).toMatchObject({ ack_policy: 'explicit', ack_wait: 7_000_000_000 });
    await expect(
      ensureDurableConsumer(bus, { ...definition, filterSubject: `${type.subject}.other` }),
    ).rejects.toThrow(/give the new filter a new durable name/);
  });

  it('refuses a publisher retry horizon longer than the duplicate window', async () => {
    await using bus = await connect('window-check');
    await ensureStreams(bus, PROVISIONED);

    await expect(assertDuplicateWindowCovers(bus, 'PROVISIONED', 60_000)).resolves.toBeUndefined();
    await expect(assertDuplicateWindowCovers(bus, 'PROVISIONED', 24 * 3600_000)).rejects.toThrow(
      /drops duplicates for 600000 ms only/,
    );
  });
});

describe('a durable consumer whose stream belongs to another service', () => {
  it('waits for the stream its producer creates later, then consumes what was published', async () => {
    await using bus = await connect('waits-for-stream');
    const name = `LATER_${Date.now()}`;
    const type = orderConfirmedType(name);
    const handled: string[] = [];
    const consumer = await startDurableEventConsumer(
      bus,
      {
        stream: name,
        name: 'reader',
        filterSubject: type.subject,
        ackWaitMs: 5_000,
        maxAckPending: 100,
        description: 'started before its stream exists',
      },
      {
        type,
        maxDeliveries: 3,
        retryDelayMs: 20,
        handle(event) {
          handled.push(event.orderId);
        },
      },
    );
    try {
      // The producer starts after the consumer: it creates its stream and publishes.
      await ensureStreams(bus, [testStream(name, [`${name.toLowerCase()}.>`])]);
      await publishEvent(bus, type, orderConfirmed('after-the-wait'));
      await expect.poll(() => handled).toEqual(['after-the-wait']);
    } finally {
      await consumer.stop();
    }
  });

  it('stops at once while it still waits for the stream', async () => {
    await using bus = await connect('stops-while-waiting');
    const type = orderConfirmedType(`NEVER_${Date.now()}`);
    const consumer = await startDurableEventConsumer(
      bus,
      {
        stream: type.stream,
        name: 'reader',
        filterSubject: type.subject,
        ackWaitMs: 5_000,
        maxAckPending: 100,
        description: 'its stream never comes',
      },
      { type, maxDeliveries: 3, retryDelayMs: 20, handle() {} },
    );
    const startedAt = Date.now();
    await consumer.stop();
    expect(Date.now() - startedAt).toBeLessThan(1_000);
  });
});

describe('publishing', () => {
  it('stores an event once when it is published twice with the same event id', async () => {
    await using bus = await connect('publisher');
    const type = await orderEventsOfOwnStream(bus);
    const event = orderConfirmed();

    const first = await publishEvent(bus, type, event);
    const again = await publishEvent(bus, type, event);

    expect(first.duplicate).toBe(false);
    expect(again).toMatchObject({ duplicate: true, seq: first.seq });
    const info = await bus.manager.streams.info(type.stream);
    expect(info.state.messages).toBe(1);
  });
});

describe('consuming', () => {
  async function consumerOn(bus: Bus, type: EventType<OrderConfirmed>) {
    const name = 'reader';
    await ensureDurableConsumer(bus, {
      stream: type.stream,
      name,
      filterSubject: type.subject,
      ackWaitMs: 5_000,
      maxAckPending: 100,
      description: 'test reader',
    });
    return name;
  }

  async function deadLetters(bus: Bus, type: EventType<OrderConfirmed>, consumer: string) {
    const subject = deadLetterSubject(type.stream, consumer);
    const letters: { orderId: string; headers: Record<string, string> }[] = [];
    const info = await bus.manager.streams.info('DEADLETTER', { subjects_filter: subject });
    if (!info.state.subjects?.[subject]) return letters;
    const reader = await bus.jetstream.consumers.get('DEADLETTER', {
      filter_subjects: subject,
    });
    const batch = await reader.fetch({ max_messages: 100, expires: 1_000 });
    for await (const message of batch) {
      const headers: Record<string, string> = {};
      for (const [key, values] of message.headers ?? []) headers[key] = values[0] ?? '';
      letters.push({ orderId: orderIdOf(message.data), headers });
      if (message.info.pending === 0) break;
    }
    return letters;
  }

  it('handles each event and acknowledges it; a failed one comes again and is handled then', async () => {
    const registry = createMetricsRegistry({ service: 'consumer-retry' });
    await using bus = await connect('consumer-retry', registry);
    const type = await orderEventsOfOwnStream(bus);
    const consumer = await consumerOn(bus, type);
    const seen: { orderId: string; deliveryCount: number }[] = [];
    let failuresLeft = 1;
    const running = await startEventConsumer(bus, {
      type,
      consumer,
      maxDeliveries: 5,
      retryDelayMs: 50,
      handle(event, delivery) {
        seen.push({ orderId: event.orderId, deliveryCount: delivery.deliveryCount });
        if (failuresLeft-- > 0) throw new Error('first attempt fails');
      },
    });

    try {
      await publishEvent(bus, type, orderConfirmed('order-a'));
      await publishEvent(bus, type, orderConfirmed('order-b'));

      await expect.poll(() => seen.length).toBe(3);
      expect(seen).toEqual(
        expect.arrayContaining([
          { orderId: 'order-a', deliveryCount: 1 },
          { orderId: 'order-a', deliveryCount: 2 },
          { orderId: 'order-b', deliveryCount: 1 },
        ]),
      );
      const labels = { stream: type.stream, consumer };
      await expect
        .poll(async () => (await bus.manager.consumers.info(type.stream, consumer)).num_ack_pending)
        .toBe(0);
      expect(await metricValue(registry, 'jetstream_consumer_deliveries_total', labels)).toBe(3);
      expect(await metricValue(registry, 'jetstream_consumer_redeliveries_total', labels)).toBe(1);
      expect(
        await metricValue(registry, 'jetstream_consumer_handled_total', {
          ...labels,
          result: 'retry',
        }),
      ).toBe(1);
    } finally {
      await running.stop();
    }
  });

  it('handles up to `concurrency` messages at once, and acknowledges each after its own work', async () => {
    const registry = createMetricsRegistry({ service: 'consumer-concurrency' });
    await using bus = await connect('consumer-concurrency', registry);
    const type = await orderEventsOfOwnStream(bus);
    const consumer = await consumerOn(bus, type);
    let inHandler = 0;
    let mostAtOnce = 0;
    const finishers: (() => void)[] = [];
    const running = await startEventConsumer(bus, {
      type,
      consumer,
      maxDeliveries: 5,
      retryDelayMs: 50,
      concurrency: 4,
      async handle() {
        inHandler++;
        mostAtOnce = Math.max(mostAtOnce, inHandler);
        await new Promise<void>((resolve) => finishers.push(resolve));
        inHandler--;
      },
    });

    try {
      for (const orderId of ['o-1', 'o-2', 'o-3', 'o-4', 'o-5', 'o-6']) {
        await publishEvent(bus, type, orderConfirmed(orderId));
      }
      // Four are in their handlers at once, none acknowledged while its work is not done.
      await expect.poll(() => inHandler).toBe(4);
      expect((await bus.manager.consumers.info(type.stream, consumer)).num_ack_pending).toBe(6);

      finishers.shift()?.();
      await expect.poll(() => finishers.length).toBe(4);
      await expect
        .poll(async () => (await bus.manager.consumers.info(type.stream, consumer)).num_ack_pending)
        .toBe(5);
      while (finishers.length > 0 || inHandler > 0) {
        finishers.shift()?.();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await expect
        .poll(async () => (await bus.manager.consumers.info(type.stream, consumer)).num_ack_pending)
        .toBe(0);
      expect(mostAtOnce).toBe(4);
    } finally {
      await running.stop();
    }
  });

  it('keeps consuming when handling a message throws where nothing catches it (isTransient)', async () => {
    // A throw outside the handler's own try (here from isTransient) used to end the consume
    // loop: every later message waited for a restart that never came.
    await using bus = await connect('consumer-guard');
    const type = await orderEventsOfOwnStream(bus);
    const consumer = await consumerOn(bus, type);
    const handled: string[] = [];
    const running = await startEventConsumer(bus, {
      type,
      consumer,
      maxDeliveries: 5,
      retryDelayMs: 50,
      handle(event) {
        if (event.orderId === 'order-odd') throw new Error('cannot handle this one');
        handled.push(event.orderId);
      },
      isTransient() {
        throw new Error('a bug in the classifier');
      },
    });
    try {
      await publishEvent(bus, type, orderConfirmed('order-odd'));
      await publishEvent(bus, type, orderConfirmed('order-next'));
      await expect.poll(() => handled).toEqual(['order-next']);
    } finally {
      await running.stop();
    }
  });

  it('dead-letters a message that fails maxDeliveries times, and the messages behind it still flow', async () => {
    const registry = createMetricsRegistry({ service: 'consumer-poison' });
    await using bus = await connect('consumer-poison', registry);
    const type = await orderEventsOfOwnStream(bus);
    const consumer = await consumerOn(bus, type);
    const handled: string[] = [];
    const running = await startEventConsumer(bus, {
      type,
      consumer,
      maxDeliveries: 3,
      retryDelayMs: 20,
      handle(event) {
        if (event.orderId === 'poison') throw new Error('this order cannot be handled');
        handled.push(event.orderId);
      },
    });

    try {
      await publishEvent(bus, type, orderConfirmed('poison'));
      await publishEvent(bus, type, orderConfirmed('after-poison'));

      await expect.poll(() => handled).toEqual(['after-poison']);
      await expect
        .poll(() => deadLetters(bus, type, consumer))
        .toEqual([
          {
            orderId: 'poison',
            headers: expect.objectContaining({
              [DEAD_LETTER_HEADERS.reason]: 'failed',
              [DEAD_LETTER_HEADERS.error]: 'this order cannot be handled',
              [DEAD_LETTER_HEADERS.deliveries]: '3',
              [DEAD_LETTER_HEADERS.subject]: type.subject,
              'Switchboard-Event-Type': 'switchboard.orders.v1.OrderConfirmed',
            }),
          },
        ]);
      expect(
        await metricValue(registry, 'jetstream_consumer_dead_lettered_total', {
          stream: type.stream,
          consumer,
          reason: 'failed',
        }),
      ).toBe(1);
      // Terminated: the poison message is not delivered again.
      await expect
        .poll(async () => (await bus.manager.consumers.info(type.stream, consumer)).num_ack_pending)
        .toBe(0);
    } finally {
      await running.stop();
    }
  });

  it('dead-letters a message that cannot be decoded at its first delivery', async () => {
    await using bus = await connect('consumer-unreadable');
    const type = await orderEventsOfOwnStream(bus);
    const consumer = await consumerOn(bus, type);
    const handled: string[] = [];
    const running = await startEventConsumer(bus, {
      type,
      consumer,
      maxDeliveries: 5,
      retryDelayMs: 1_000,
      handle(event) {
        handled.push(event.orderId);
      },
    });

    try {
      // Field 1 (event_id) announced as 100 bytes long, with 3 there: not an OrderConfirmed.
      await bus.jetstream.publish(type.subject, new Uint8Array([0x0a, 100, 1, 2, 3]));
      await publishEvent(bus, type, orderConfirmed('after-garbage'));

      await expect.poll(() => handled).toEqual(['after-garbage']);
      const [letter] = await deadLetters(bus, type, consumer);
      expect(letter?.headers).toMatchObject({
        [DEAD_LETTER_HEADERS.reason]: 'unreadable',
        [DEAD_LETTER_HEADERS.deliveries]: '1',
      });
    } finally {
      await running.stop();
    }
  });

  it('never dead-letters for a transient failure: it retries until the failure ends', async () => {
    await using bus = await connect('consumer-transient');
    const type = await orderEventsOfOwnStream(bus);
    const consumer = await consumerOn(bus, type);
    let attempts = 0;
    const running = await startEventConsumer(bus, {
      type,
      consumer,
      maxDeliveries: 2,
      retryDelayMs: 20,
      isTransient: (error) => error instanceof Error && error.message === 'database is down',
      handle() {
        attempts += 1;
        if (attempts <= 4) throw new Error('database is down');
      },
    });

    try {
      await publishEvent(bus, type, orderConfirmed());

      await expect.poll(() => attempts).toBe(5);
      expect(await deadLetters(bus, type, consumer)).toEqual([]);
    } finally {
      await running.stop();
    }
  });
});

describe('the connection', () => {
  it('reconnects after the broker restarts, counts it in metrics, and publishes again', async () => {
    const registry = createMetricsRegistry({ service: 'reconnect' });
    await using bus = await connect('reconnecting', registry);
    const type = await orderEventsOfOwnStream(bus);

    await nats.halt();
    try {
      await expect.poll(() => bus.isConnected()).toBe(false);
      expect(
        await metricValue(registry, 'nats_connection_up', { connection: 'reconnecting' }),
      ).toBe(0);
    } finally {
      await nats.resume();
    }

    await expect.poll(() => bus.isConnected(), { timeout: 15_000 }).toBe(true);
    const ack = await publishEvent(bus, type, orderConfirmed());
    expect(ack.stream).toBe(type.stream);
    expect(
      await metricValue(registry, 'nats_connection_events_total', {
        connection: 'reconnecting',
        event: 'disconnect',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await metricValue(registry, 'nats_connection_events_total', {
        connection: 'reconnecting',
        event: 'reconnect',
      }),
    ).toBe(1);
    expect(await metricValue(registry, 'nats_connection_up', { connection: 'reconnecting' })).toBe(
      1,
    );
  });

  it('drains and closes on drain()', async () => {
    const bus = await connect('draining');
    await bus.drain();
    expect(bus.connection.isClosed()).toBe(true);
    expect(bus.isConnected()).toBe(false);
  });
});
