import { OrderCancelled, OrderConfirmed, StockChanged } from '@switchboard/contracts';

/** Every event carries its own id: it is the JetStream message id and the inbox key. */
export interface Event {
  eventId: string;
}

/**
 * One kind of event: its protobuf message, the subject it is published on and the stream that
 * keeps it. Publishers and consumers both go through it, so they cannot disagree.
 */
export interface EventType<T extends Event> {
  /** The protobuf message's full name, sent in the `Switchboard-Event-Type` header. */
  name: string;
  /**
   * What consumers subscribe to: the subject every event of the type is published on, or, for
   * a type whose subject carries a key (`subjectOf`), the wildcard matching all of them.
   */
  subject: string;
  /** The subject one event is published on, when it carries a key of the event. */
  subjectOf?(event: T): string;
  stream: string;
  encode(event: T): Uint8Array;
  decode(data: Uint8Array): T;
}

/** The header naming the protobuf message a payload holds, for readers of a raw stream. */
export const EVENT_TYPE_HEADER = 'Switchboard-Event-Type';

export const ORDER_CONFIRMED: EventType<OrderConfirmed> = {
  name: 'switchboard.orders.v1.OrderConfirmed',
  subject: 'orders.events.confirmed',
  stream: 'ORDERS',
  encode: (event) => OrderConfirmed.encode(event).finish(),
  decode: (data) => OrderConfirmed.decode(data),
};

export const ORDER_CANCELLED: EventType<OrderCancelled> = {
  name: 'switchboard.orders.v1.OrderCancelled',
  subject: 'orders.events.cancelled',
  stream: 'ORDERS',
  encode: (event) => OrderCancelled.encode(event).finish(),
  decode: (data) => OrderCancelled.decode(data),
};

/**
 * Whether a value can be one token of a NATS subject: not empty, and none of `.` (it separates
 * tokens), `*` or `>` (wildcards) or white space (it ends a subject in the protocol).
 */
export function isSubjectToken(value: string): boolean {
  return /^[^\s.*>]+$/u.test(value);
}

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

export const STOCK_CHANGED: EventType<StockChanged> = {
  name: 'switchboard.inventory.v1.StockChanged',
  subject: `${STOCK_CHANGED_PREFIX}.*`,
  subjectOf: (event) => stockChangedSubject(event.sku),
  stream: 'INVENTORY',
  encode: (event) => StockChanged.encode(event).finish(),
  decode: (data) => StockChanged.decode(data),
};

/**
 * An event as bytes, ready to be stored in an outbox row and published later by a relay that
 * knows nothing of its type.
 */
export interface EncodedEvent {
  eventId: string;
  subject: string;
  /** EventType.name */
  type: string;
  data: Uint8Array;
}

export function encodeEvent<T extends Event>(type: EventType<T>, event: T): EncodedEvent {
  if (event.eventId === '') throw new Error(`a ${type.name} needs an eventId`);
  return {
    eventId: event.eventId,
    subject: type.subjectOf?.(event) ?? type.subject,
    type: type.name,
    data: type.encode(event),
  };
}
