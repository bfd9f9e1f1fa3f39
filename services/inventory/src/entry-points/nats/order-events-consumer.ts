import {
  startDurableEventConsumer,
  type Bus,
  type DurableConsumerDefinition,
  type EventConsumer,
} from '@switchboard/bus';
import { ORDER_CONFIRMED } from '@switchboard/events';
import { isTransientDatabaseError } from '@switchboard/postgres';
import type { Inventory } from '../../domain/inventory.js';

/** inventory's durable consumer of OrderConfirmed on ORDERS; its replicas share it. */
export const ORDER_EVENTS_CONSUMER: DurableConsumerDefinition = {
  stream: ORDER_CONFIRMED.stream,
  name: 'inventory-orders',
  filterSubject: ORDER_CONFIRMED.subject,
  // A commit takes milliseconds; a message not acknowledged in 15 s belonged to a replica
  // that died, and goes to another one.
  ackWaitMs: 15_000,
  maxAckPending: 1_000,
  description: 'inventory commits the reservation of each confirmed order',
};

/**
 * OrderConfirmed -> commit the order's reservation. The commit records the event id in the
 * inbox in its transaction, and the message is acknowledged after it committed: a message
 * delivered again (the ack was lost, the replica died) finds its id and changes nothing.
 * A database outage is retried for as long as it lasts; a commit that keeps failing for
 * another reason (no such reservation, the stock is gone) is dead-lettered after
 * `maxDeliveries`.
 *
 * inventory owns this durable consumer and provisions it; ORDERS is purchase's stream, and
 * until purchase has created it the consumer waits for it without holding up the start.
 */
export async function startOrderEventsConsumer(options: {
  bus: Bus;
  inventory: Inventory;
  maxDeliveries: number;
  retryDelayMs: number;
}): Promise<EventConsumer> {
  const { bus, inventory } = options;
  const logger = bus.logger.child({ consumer: ORDER_EVENTS_CONSUMER.name });
  return startDurableEventConsumer(bus, ORDER_EVENTS_CONSUMER, {
    type: ORDER_CONFIRMED,
    maxDeliveries: options.maxDeliveries,
    retryDelayMs: options.retryDelayMs,
    isTransient: isTransientDatabaseError,
    // A pull's worth of messages at once: their commits share transactions (group commit,
    // ADR 28), so a backlog drains in a few commits rather than one per message.
    batchSize: 32,
    concurrency: 32,
    async handle(event, delivery) {
      const outcome = await inventory.commit(event.orderId, {
        consumer: ORDER_EVENTS_CONSUMER.name,
        id: event.eventId,
      });
      logger.debug(
        { orderId: event.orderId, eventId: event.eventId, outcome: outcome.kind, ...delivery },
        'order confirmed',
      );
    },
  });
}
