import type { OrderConfirmed } from '@switchboard/contracts';
import { startNats, type StartedNats, testLogger } from '@switchboard/testing';
import type { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEAD_LETTER_STREAM_NAME,
  deadLetterSubject,
  ensureDurableConsumer,
  listDeadLetters,
  publishEvent,
  replayDeadLetter,
  startEventConsumer,
  type Bus,
  type EventConsumer,
  type EventType,
} from '../src/index.js';
import { connectTestBus, orderConfirmed, orderEventsOfOwnStream } from './support/fixtures.js';

let nats: StartedNats;
const logger = testLogger('dead-letters-test');

beforeAll(async () => {
  nats = await startNats();
});

afterAll(async () => {
  await nats?.stop();
});

const connect = (name: string, registry?: Registry) =>
  connectTestBus(nats.url, name, logger, registry);

/**
 * A consumer as services write them: an inbox of event ids, so a copy of an applied event is
 * skipped. `applied` lists the orders it applied; `fails()` says whether handling fails now.
 */
async function inboxConsumer(
  bus: Bus,
  type: EventType<OrderConfirmed>,
  name: string,
  fails: () => boolean,
) {
  await ensureDurableConsumer(bus, {
    stream: type.stream,
    name,
    filterSubject: type.subject,
    ackWaitMs: 5_000,
    maxAckPending: 100,
    description: 'test consumer with an inbox',
  });
  const inbox = new Set<string>();
  const applied: string[] = [];
  let deliveries = 0;
  const consumer: EventConsumer = await startEventConsumer(bus, {
    type,
    consumer: name,
    maxDeliveries: 2,
    retryDelayMs: 20,
    handle(event) {
      deliveries += 1;
      if (inbox.has(event.eventId)) return;
      if (fails()) throw new Error('the bug is not fixed yet');
      inbox.add(event.eventId);
      applied.push(event.orderId);
    },
  });
  return { consumer, applied, deliveries: () => deliveries };
}

describe('dead letters', () => {
  it('lists a poison message with its reason; a replay makes only the consumer that gave up apply it, once', async () => {
    await using bus = await connect('dead-letters-replay');
    const type = await orderEventsOfOwnStream(bus);
    let fixed = false;
    const broken = await inboxConsumer(bus, type, 'broken', () => !fixed);
    const healthy = await inboxConsumer(bus, type, 'healthy', () => false);

    try {
      await publishEvent(bus, type, orderConfirmed('poison'));

      await expect.poll(() => listDeadLetters(bus, { stream: type.stream })).toHaveLength(1);
      const [letter] = await listDeadLetters(bus, { stream: type.stream });
      expect(letter).toMatchObject({
        stream: type.stream,
        consumer: 'broken',
        reason: 'failed',
        error: 'the bug is not fixed yet',
        originalSubject: type.subject,
        originalStream: type.stream,
        originalSequence: 1,
        deliveries: 2,
        eventType: 'switchboard.orders.v1.OrderConfirmed',
      });
      expect(letter!.time).toBeInstanceOf(Date);
      expect(await listDeadLetters(bus, { stream: type.stream, consumer: 'healthy' })).toEqual([]);
      expect(broken.applied).toEqual([]);
      expect(healthy.applied).toEqual(['poison']);

      fixed = true;
      const { ack } = await replayDeadLetter(bus, letter!.sequence);

      expect(ack).toMatchObject({ stream: type.stream, seq: 2, duplicate: false });
      await expect.poll(() => broken.applied).toEqual(['poison']);
      // The healthy consumer got the copy too, and its inbox skipped it.
      await expect.poll(() => healthy.deliveries()).toBe(2);
      expect(healthy.applied).toEqual(['poison']);
      expect(
        await bus.manager.streams.getMessage(DEAD_LETTER_STREAM_NAME, { seq: letter!.sequence }),
      ).toBeNull();
      expect(await listDeadLetters(bus, { stream: type.stream })).toEqual([]);
    } finally {
      await broken.consumer.stop();
      await healthy.consumer.stop();
    }
  });

  it('refuses to replay a dead letter twice, and the second attempt publishes nothing', async () => {
    await using bus = await connect('dead-letters-twice');
    const type = await orderEventsOfOwnStream(bus);
    let fixed = false;
    const broken = await inboxConsumer(bus, type, 'broken', () => !fixed);

    try {
      await publishEvent(bus, type, orderConfirmed('poison'));
      await expect.poll(() => listDeadLetters(bus, { stream: type.stream })).toHaveLength(1);
      const [letter] = await listDeadLetters(bus, { stream: type.stream });
      fixed = true;
      await replayDeadLetter(bus, letter!.sequence);
      await expect.poll(() => broken.applied).toEqual(['poison']);

      await expect(replayDeadLetter(bus, letter!.sequence)).rejects.toMatchObject({
        code: 'NOT_FOUND',
        message: expect.stringMatching(/already replayed/),
      });

      // The original and one copy: nothing more reached the stream or the consumer.
      expect((await bus.manager.streams.info(type.stream)).state.messages).toBe(2);
      await expect
        .poll(async () => (await bus.manager.consumers.info(type.stream, 'broken')).num_pending)
        .toBe(0);
      expect(broken.applied).toEqual(['poison']);
    } finally {
      await broken.consumer.stop();
    }
  });

  it('lists, oldest first, only the stream and consumer asked for, up to the limit', async () => {
    await using bus = await connect('dead-letters-filter');
    const type = await orderEventsOfOwnStream(bus);
    const other = await orderEventsOfOwnStream(bus);
    // Bare messages on dead-letter subjects, without running a consumer.
    for (const [stream, consumer] of [
      [type.stream, 'a'],
      [other.stream, 'a'],
      [type.stream, 'b'],
      [type.stream, 'a'],
    ] as const) {
      await bus.jetstream.publish(deadLetterSubject(stream, consumer), new Uint8Array());
    }

    const ofA = await listDeadLetters(bus, { stream: type.stream, consumer: 'a' });
    expect(ofA.map(({ stream, consumer }) => `${stream}/${consumer}`)).toEqual([
      `${type.stream}/a`,
      `${type.stream}/a`,
    ]);
    expect(ofA[0]!.sequence).toBeLessThan(ofA[1]!.sequence);
    expect(await listDeadLetters(bus, { stream: type.stream })).toHaveLength(3);
    expect(await listDeadLetters(bus, { stream: type.stream, limit: 2 })).toHaveLength(2);
    // A message without the original subject cannot be replayed: it is refused, and kept.
    await expect(replayDeadLetter(bus, ofA[0]!.sequence)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(await listDeadLetters(bus, { stream: type.stream })).toHaveLength(3);
  });
});
