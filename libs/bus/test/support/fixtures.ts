import { randomUUID } from 'node:crypto';
import { OrderConfirmed } from '@switchboard/contracts';
import { createMetricsRegistry } from '@switchboard/observability';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import {
  connectBus,
  deadLetterStream,
  ensureStreams,
  limitsRetentionStream,
  type Bus,
  type EventType,
} from '../../src/index.js';

/**
 * The bus knows no system's events: its tests declare their own, as `@switchboard/events`
 * does for Switchboard's. The payload is an OrderConfirmed, a real protobuf message.
 */
export const DUPLICATE_WINDOW_MS = 10 * 60 * 1000;

/** A stream of the test's own, so tests do not meet. */
export function testStream(name: string, subjects: string[]) {
  return limitsRetentionStream({
    name,
    subjects,
    maxAgeMs: 60 * 60 * 1000,
    duplicateWindowMs: DUPLICATE_WINDOW_MS,
    description: 'a test stream',
  });
}

export const TEST_DEAD_LETTER_STREAM = deadLetterStream({
  maxAgeMs: 60 * 60 * 1000,
  duplicateWindowMs: DUPLICATE_WINDOW_MS,
});

/** An event type on `stream`, published on `<stream in lower case>.confirmed`. */
export function orderConfirmedType(stream: string): EventType<OrderConfirmed> {
  return {
    name: 'switchboard.orders.v1.OrderConfirmed',
    subject: `${stream.toLowerCase()}.confirmed`,
    stream,
    encode: (event) => OrderConfirmed.encode(event).finish(),
    decode: (data) => OrderConfirmed.decode(data),
  };
}

/** A bus for a test, reconnecting quickly so broker restarts do not slow the suite. */
export function connectTestBus(
  url: string,
  name: string,
  logger: Logger,
  registry: Registry = createMetricsRegistry({ service: name }),
): Promise<Bus> {
  return connectBus({
    servers: url,
    name,
    logger,
    registry,
    reconnectWaitMs: 200,
    reconnectJitterMs: 100,
  });
}

/**
 * An OrderConfirmed type on a stream and subject of the test's own, so tests do not meet
 * (and its dead letters, under `deadletter.<stream>.…`, are its own too).
 */
export async function orderEventsOfOwnStream(bus: Bus): Promise<EventType<OrderConfirmed>> {
  const name = `TEST_${randomUUID().slice(0, 8).toUpperCase()}`;
  await ensureStreams(bus, [
    testStream(name, [`${name.toLowerCase()}.>`]),
    TEST_DEAD_LETTER_STREAM,
  ]);
  return orderConfirmedType(name);
}

export function orderConfirmed(orderId: string = randomUUID()): OrderConfirmed {
  return {
    eventId: randomUUID(),
    occurredAt: new Date(),
    orderId,
    customerId: 'c-1',
    items: [{ sku: 'sku-1', quantity: 1 }],
  };
}
