import { describe, expect, it } from 'vitest';
import { encodeEvent, isSubjectToken } from '@switchboard/bus';
import {
  DEAD_LETTER_STREAM,
  INVENTORY_STREAM,
  ORDERS_STREAM,
  ORDER_CONFIRMED,
  STOCK_CHANGED,
  stockChangedSubject,
} from '../src/index.js';

const stockChanged = (sku: string) => ({
  eventId: 'e-1',
  occurredAt: new Date(0),
  sku,
  onHand: 5,
  reserved: 1,
  available: 4,
});

describe('event subjects', () => {
  it("puts the SKU in StockChanged's subject, under the wildcard consumers subscribe to", () => {
    expect(stockChangedSubject('sku-red-mug')).toBe('inventory.events.stock.changed.sku-red-mug');
    expect(STOCK_CHANGED.subject).toBe('inventory.events.stock.changed.*');
    expect(encodeEvent(STOCK_CHANGED, stockChanged('sku-red-mug')).subject).toBe(
      'inventory.events.stock.changed.sku-red-mug',
    );
    // The INVENTORY stream keeps every SKU's subject.
    expect(INVENTORY_STREAM.subjects).toEqual(['inventory.events.>']);
  });

  it('publishes a type without a key on its one subject', () => {
    expect(
      encodeEvent(ORDER_CONFIRMED, {
        eventId: 'e-2',
        orderId: 'o-1',
        customerId: 'c-1',
        items: [],
        occurredAt: new Date(0),
      }).subject,
    ).toBe('orders.events.confirmed');
  });

  it('refuses a SKU that is not one subject token, rather than publish to a wildcard', () => {
    for (const sku of ['', 'bad.sku', '*', '>', 'two words', 'tab\t', 'a.*']) {
      expect(isSubjectToken(sku)).toBe(false);
      expect(() => stockChangedSubject(sku)).toThrow('cannot be a NATS subject token');
      expect(() => encodeEvent(STOCK_CHANGED, stockChanged(sku))).toThrow();
    }
    for (const sku of ['a', 'sku-red-mug', 'SKU_42']) expect(isSubjectToken(sku)).toBe(true);
  });
});

describe('streams', () => {
  it('keeps every event type on a stream whose subjects cover it', () => {
    expect(ORDER_CONFIRMED.stream).toBe(ORDERS_STREAM.name);
    expect(ORDERS_STREAM.subjects).toEqual(['orders.events.>']);
    expect(STOCK_CHANGED.stream).toBe(INVENTORY_STREAM.name);
  });

  it('keeps events 7 days and dead letters 30, each with a 10 minute duplicate window', () => {
    const days = (nanos: number) => nanos / 1e9 / 86_400;
    expect(days(ORDERS_STREAM.max_age)).toBe(7);
    expect(days(INVENTORY_STREAM.max_age)).toBe(7);
    expect(DEAD_LETTER_STREAM).toMatchObject({ name: 'DEADLETTER', subjects: ['deadletter.>'] });
    expect(days(DEAD_LETTER_STREAM.max_age)).toBe(30);
    for (const stream of [ORDERS_STREAM, INVENTORY_STREAM, DEAD_LETTER_STREAM]) {
      expect(stream.duplicate_window).toBe(10 * 60 * 1e9);
    }
  });
});
