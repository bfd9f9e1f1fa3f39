import { describe, expect, it } from 'vitest';
import {
  INVENTORY_STREAM,
  ORDER_CONFIRMED,
  STOCK_CHANGED,
  encodeEvent,
  isSubjectToken,
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
