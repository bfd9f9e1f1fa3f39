import { describe, expect, it } from 'vitest';
import {
  answerRepeatedReserve,
  checkAvailability,
  commitAction,
  releaseAction,
  sameItems,
} from '../../src/domain/stock-rules.js';
import type { Reservation } from '../../src/domain/types.js';

const stock = new Map([
  ['a', { sku: 'a', onHand: 10, reserved: 8 }],
  ['b', { sku: 'b', onHand: 5, reserved: 0 }],
  ['c', { sku: 'c', onHand: 1, reserved: 1 }],
]);

describe('checkAvailability', () => {
  it('passes when every item fits in what is available', () => {
    expect(() =>
      checkAvailability(
        [
          { sku: 'a', quantity: 2 },
          { sku: 'b', quantity: 5 },
        ],
        stock,
      ),
    ).not.toThrow();
  });

  it('names every short SKU, not just the first', () => {
    expect(() =>
      checkAvailability(
        [
          { sku: 'c', quantity: 1 },
          { sku: 'b', quantity: 1 },
          { sku: 'a', quantity: 3 },
        ],
        stock,
      ),
    ).toThrow(
      expect.objectContaining({ code: 'INSUFFICIENT_STOCK', details: { skus: ['a', 'c'] } }),
    );
  });

  it('reports unknown SKUs before short ones, every one of them', () => {
    expect(() =>
      checkAvailability(
        [
          { sku: 'c', quantity: 1 },
          { sku: 'zz', quantity: 1 },
          { sku: 'yy', quantity: 1 },
        ],
        stock,
      ),
    ).toThrow(expect.objectContaining({ code: 'NOT_FOUND', details: { skus: ['yy', 'zz'] } }));
  });
});

describe('sameItems', () => {
  it('ignores the order of the items but not their quantities', () => {
    const items = [
      { sku: 'a', quantity: 1 },
      { sku: 'b', quantity: 2 },
    ];

    expect(sameItems(items, items.toReversed())).toBe(true);
    expect(
      sameItems(items, [
        { sku: 'a', quantity: 1 },
        { sku: 'b', quantity: 3 },
      ]),
    ).toBe(false);
    expect(sameItems(items, [{ sku: 'a', quantity: 1 }])).toBe(false);
  });
});

describe('answerRepeatedReserve', () => {
  const items = [{ sku: 'a', quantity: 2 }];
  const expiresAt = new Date('2026-01-01T00:00:00Z');
  const stored = (state: Reservation['state'], held = items): Reservation => ({
    orderId: 'o-1',
    items: held,
    state,
    expiresAt,
  });

  it('answers the stored reservation for the same items, ALREADY_EXISTS for others', () => {
    expect(answerRepeatedReserve(stored('RESERVED'), items)).toEqual(stored('RESERVED'));
    expect(() => answerRepeatedReserve(stored('RESERVED'), [{ sku: 'a', quantity: 3 }])).toThrow(
      expect.objectContaining({ code: 'ALREADY_EXISTS' }),
    );
  });

  it('answers a tombstone (released before its Reserve came, no items) released, whatever the items', () => {
    expect(answerRepeatedReserve(stored('RELEASED', []), items)).toEqual(stored('RELEASED', []));
  });
});

describe('releaseAction', () => {
  const reservation = (state: Reservation['state']): Reservation => ({
    orderId: 'o-1',
    items: [],
    state,
    expiresAt: new Date(),
  });

  it('gives back a held reservation, leaves a released one, refuses a committed one', () => {
    expect(releaseAction(reservation('RESERVED'))).toBe('give-back');
    expect(releaseAction(reservation('RELEASED'))).toBe('unchanged');
    expect(() => releaseAction(reservation('COMMITTED'))).toThrow(
      expect.objectContaining({
        code: 'ALREADY_EXISTS',
        details: { orderId: 'o-1', state: 'COMMITTED' },
      }),
    );
  });
});

describe('commitAction', () => {
  const reservation = (state: Reservation['state']): Reservation => ({
    orderId: 'o-1',
    items: [],
    state,
    expiresAt: new Date(),
  });

  it('takes the held units of a reservation, nothing twice, and takes a released one again', () => {
    expect(commitAction(reservation('RESERVED'))).toBe('take-held');
    expect(commitAction(reservation('COMMITTED'))).toBe('unchanged');
    expect(commitAction(reservation('RELEASED'))).toBe('take-again');
  });
});
