import { randomUUID } from 'node:crypto';
import { encodeEvent, type EncodedEvent } from '@switchboard/bus';
import { ORDER_CONFIRMED } from '@switchboard/events';
import type { Order } from '../domain/order.js';

/** The OrderConfirmed event of a stored order, encoded for the outbox. */
export function orderConfirmedEvent(order: Order): EncodedEvent {
  return encodeEvent(ORDER_CONFIRMED, {
    eventId: randomUUID(),
    occurredAt: new Date(order.createdAt),
    orderId: order.orderId,
    customerId: order.customerId,
    items: order.items.map(({ sku, quantity }) => ({ sku, quantity })),
  });
}
