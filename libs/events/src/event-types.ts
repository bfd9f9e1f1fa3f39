import { isSubjectToken, type EventType } from '@switchboard/bus';
import { OrderCancelled, OrderConfirmed, StockChanged } from '@switchboard/contracts';
import { INVENTORY_STREAM, ORDERS_STREAM } from './streams.js';

/** purchase publishes it, through its outbox, for every order it stores. */
export const ORDER_CONFIRMED: EventType<OrderConfirmed> = {
  name: 'switchboard.orders.v1.OrderConfirmed',
  subject: 'orders.events.confirmed',
  stream: ORDERS_STREAM.name,
  encode: (event) => OrderConfirmed.encode(event).finish(),
  decode: (data) => OrderConfirmed.decode(data),
};

/** In the contract, not published yet (docs/architecture.md, "Not here yet"). */
export const ORDER_CANCELLED: EventType<OrderCancelled> = {
  name: 'switchboard.orders.v1.OrderCancelled',
  subject: 'orders.events.cancelled',
  stream: ORDERS_STREAM.name,
  encode: (event) => OrderCancelled.encode(event).finish(),
  decode: (data) => OrderCancelled.decode(data),
};

const STOCK_CHANGED_PREFIX = 'inventory.events.stock.changed';

/**
 * The subject of one SKU's StockChanged events, `inventory.events.stock.changed.<sku>`, so a
 * watcher of one SKU subscribes to its events only. Throws for a SKU that is not one subject
 * token: inventory's catalog admits none (it would make a wildcard or a bad subject).
 */
export function stockChangedSubject(sku: string): string {
  if (!isSubjectToken(sku)) {
    throw new Error(`SKU ${JSON.stringify(sku)} cannot be a NATS subject token`);
  }
  return `${STOCK_CHANGED_PREFIX}.${sku}`;
}

/** inventory publishes it, through its outbox, for every stock change. */
export const STOCK_CHANGED: EventType<StockChanged> = {
  name: 'switchboard.inventory.v1.StockChanged',
  subject: `${STOCK_CHANGED_PREFIX}.*`,
  subjectOf: (event) => stockChangedSubject(event.sku),
  stream: INVENTORY_STREAM.name,
  encode: (event) => StockChanged.encode(event).finish(),
  decode: (data) => StockChanged.decode(data),
};
