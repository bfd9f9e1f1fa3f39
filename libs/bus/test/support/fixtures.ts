import { randomUUID } from 'node:crypto';
import type { OrderConfirmed } from '@switchboard/contracts';
import { createMetricsRegistry } from '@switchboard/observability';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import {
  DEAD_LETTER_STREAM,
  ORDER_CONFIRMED,
  ORDERS_STREAM,
  connectBus,
  ensureStreams,
  type Bus,
  type EventType,
} from '../../src/index.js';

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
    { ...ORDERS_STREAM, name, subjects: [`${name.toLowerCase()}.>`] },
    DEAD_LETTER_STREAM,
  ]);
  return { ...ORDER_CONFIRMED, stream: name, subject: `${name.toLowerCase()}.confirmed` };
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
