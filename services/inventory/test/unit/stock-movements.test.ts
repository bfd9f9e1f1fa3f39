import { describe, expect, it } from 'vitest';
import { stockChangedEvents } from '../../src/domain/stock-changed-events.js';
import { moveStock } from '../../src/domain/stock-movements.js';

const locked = new Map([
  ['a', { sku: 'a', onHand: 10, reserved: 4 }],
  ['b', { sku: 'b', onHand: 5, reserved: 2 }],
]);
const items = [
  { sku: 'b', quantity: 2 },
  { sku: 'a', quantity: 3 },
];

describe('moveStock', () => {
  it('holds the units of a Reserve: reserved rises, on hand stays, in SKU order', () => {
    expect(moveStock(locked, items, 'hold')).toEqual([
      { sku: 'a', onHand: 10, reserved: 7 },
      { sku: 'b', onHand: 5, reserved: 4 },
    ]);
  });

  it('gives the units of a Release or an expiry back: reserved drops', () => {
    expect(moveStock(locked, items, 'give-back')).toEqual([
      { sku: 'a', onHand: 10, reserved: 1 },
      { sku: 'b', onHand: 5, reserved: 0 },
    ]);
  });

  it('takes the held units of a commit off the shelf: reserved and on hand drop', () => {
    expect(moveStock(locked, items, 'take-held')).toEqual([
      { sku: 'a', onHand: 7, reserved: 1 },
      { sku: 'b', onHand: 3, reserved: 0 },
    ]);
  });

  it('takes the units of a released reservation again from what is available: on hand drops', () => {
    expect(moveStock(locked, items, 'take-again')).toEqual([
      { sku: 'a', onHand: 7, reserved: 4 },
      { sku: 'b', onHand: 3, reserved: 2 },
    ]);
  });

  it('refuses a movement that would oversell or give back more than is held', () => {
    expect(() => moveStock(locked, [{ sku: 'a', quantity: 7 }], 'hold')).toThrow(
      'would leave 11 reserved of 10 on hand',
    );
    expect(() => moveStock(locked, [{ sku: 'b', quantity: 3 }], 'give-back')).toThrow(
      'would leave -1 reserved',
    );
  });

  it('refuses to move the stock of a SKU whose row was not locked', () => {
    expect(() => moveStock(locked, [{ sku: 'zz', quantity: 1 }], 'hold')).toThrow('not locked');
  });
});

describe('stockChangedEvents', () => {
  it('makes one event per SKU with its levels after the change, each with its own id', () => {
    const occurredAt = new Date('2026-01-01T00:00:00Z');

    const events = stockChangedEvents(moveStock(locked, items, 'hold'), occurredAt);

    expect(events).toEqual([
      { eventId: expect.any(String), occurredAt, sku: 'a', onHand: 10, reserved: 7, available: 3 },
      { eventId: expect.any(String), occurredAt, sku: 'b', onHand: 5, reserved: 4, available: 1 },
    ]);
    expect(new Set(events.map(({ eventId }) => eventId)).size).toBe(2);
  });
});
