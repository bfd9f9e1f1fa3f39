import { AppError } from '@switchboard/errors';
import { testLogger } from '@switchboard/testing';
import { describe, expect, it } from 'vitest';
import type { InventoryClient, ReservationState } from '../../src/domain/inventory-client.js';
import type { Order, PurchaseOutcome, PurchaseRequest } from '../../src/domain/order.js';
import type { KeyClaim, OrderStore } from '../../src/domain/order-store.js';
import { createPurchaseService } from '../../src/domain/purchase-service.js';
import type { ReservationReleaser } from '../../src/domain/reservation-releaser.js';

// The use case's rules with its three ports in memory: no database, no inventory. The
// adapters behind the ports have their own tests against real dependencies
// (test/purchase.component.test.ts).

const KEY_LOCK_MS = 30_000;
const TTL_SECONDS = 900;
const NOW = new Date('2026-01-01T12:00:00.000Z');
const call = () => ({ deadline: new Date(Date.now() + 5_000) });

/** The idempotency keys as ADR 4 has them: claimed, completed with an outcome, or forgotten. */
function inMemoryOrderStore() {
  const keys = new Map<
    string,
    { fingerprint: string; orderId: string; lockedUntil: number; outcome?: PurchaseOutcome }
  >();
  const orders = new Map<string, Order>();
  const failures = { saveOrder: 0, deleteKey: 0 };
  const store: OrderStore = {
    claimKey(key, fingerprint, newOrderId, lockMs) {
      const row = keys.get(key);
      let claim: KeyClaim;
      if (!row) {
        keys.set(key, { fingerprint, orderId: newOrderId, lockedUntil: Date.now() + lockMs });
        claim = { kind: 'owned', orderId: newOrderId };
      } else if (row.fingerprint !== fingerprint) {
        claim = { kind: 'mismatch' };
      } else if (row.outcome) {
        claim = { kind: 'completed', outcome: structuredClone(row.outcome) };
      } else if (row.lockedUntil > Date.now()) {
        claim = { kind: 'in-progress' };
      } else {
        row.lockedUntil = Date.now() + lockMs;
        claim = { kind: 'owned', orderId: row.orderId };
      }
      return Promise.resolve(claim);
    },
    saveOrder(key, order) {
      if (failures.saveOrder > 0) {
        failures.saveOrder--;
        return Promise.reject(new Error('the database went away'));
      }
      orders.set(order.orderId, structuredClone(order));
      complete(key, order.orderId, { ok: true, order });
      return Promise.resolve();
    },
    saveRefusal(key, orderId, outcome) {
      complete(key, orderId, outcome);
      return Promise.resolve();
    },
    deleteKey(key, orderId) {
      if (failures.deleteKey > 0) {
        failures.deleteKey--;
        return Promise.reject(new Error('the database went away'));
      }
      const row = keys.get(key);
      if (row?.orderId === orderId && !row.outcome) keys.delete(key);
      return Promise.resolve();
    },
    findOrder(orderId) {
      return Promise.resolve(structuredClone(orders.get(orderId)));
    },
  };

  function complete(key: string, orderId: string, outcome: PurchaseOutcome) {
    const row = keys.get(key);
    if (row?.orderId === orderId) row.outcome = structuredClone(outcome);
  }

  return { store, orders, failures, keyHolds: (key: string) => keys.has(key) };
}

/** inventory's Reserve, answered by the test: `answer` is what the next Reserves get. */
function scriptedInventory() {
  const reserves: { orderId: string; items: unknown; ttlSeconds: number }[] = [];
  const script = {
    answer: (): Promise<ReservationState> => Promise.resolve('RESERVED'),
  };
  const notUsed = () => Promise.reject(new Error('not used by the purchase use case'));
  const inventory: InventoryClient = {
    reserve(orderId, items, ttlSeconds) {
      reserves.push({ orderId, items: structuredClone(items), ttlSeconds });
      return script.answer();
    },
    release: notUsed,
    getStock: notUsed,
    listStock: notUsed,
    watchStock: () => ({
      [Symbol.asyncIterator]: () => ({ next: notUsed }),
    }),
    checkHealth: notUsed,
    close: () => {},
  };
  return { inventory, reserves, script };
}

function recordingReleaser() {
  const released: { orderId: string; reason: string }[] = [];
  const releaser: ReservationReleaser = {
    releaseSoon: (orderId, reason) => released.push({ orderId, reason }),
  };
  return { releaser, released };
}

function purchaseUnderTest() {
  const orderStore = inMemoryOrderStore();
  const inventory = scriptedInventory();
  const releases = recordingReleaser();
  const service = createPurchaseService({
    store: orderStore.store,
    inventory: inventory.inventory,
    releaser: releases.releaser,
    logger: testLogger('purchase-test'),
    reservationTtlSeconds: TTL_SECONDS,
    keyLockMs: KEY_LOCK_MS,
    now: () => NOW,
  });
  return { service, ...orderStore, ...inventory, ...releases };
}

const mugs: PurchaseRequest = {
  customerId: 'c-1',
  items: [
    { sku: 'sku-red-mug', quantity: 2 },
    { sku: 'sku-blue-mug', quantity: 1 },
  ],
};

describe('a purchase', () => {
  it('reserves under the order id its key fixed, stores the order and answers it', async () => {
    const { service, reserves, orders, released } = purchaseUnderTest();

    const result = await service.purchase('k-1', mugs, call());

    expect(result).toEqual({
      replayed: false,
      outcome: {
        ok: true,
        order: {
          orderId: expect.any(String),
          customerId: 'c-1',
          status: 'CONFIRMED',
          items: mugs.items,
          createdAt: NOW.toISOString(),
        },
      },
    });
    const orderId = result.outcome.ok ? result.outcome.order.orderId : '';
    expect(reserves).toEqual([{ orderId, items: mugs.items, ttlSeconds: TTL_SECONDS }]);
    expect(orders.get(orderId)).toEqual(result.outcome.ok && result.outcome.order);
    expect(await service.findOrder(orderId)).toEqual(orders.get(orderId));
    expect(released).toEqual([]);
  });

  it('sent again with the same key and body replays the stored order and reserves nothing more', async () => {
    const { service, reserves } = purchaseUnderTest();
    const first = await service.purchase('k-1', mugs, call());

    const again = await service.purchase('k-1', structuredClone(mugs), call());

    expect(again).toEqual({ outcome: first.outcome, replayed: true });
    expect(reserves).toHaveLength(1);
  });

  it('sent with the same key and another body is IDEMPOTENCY_KEY_REUSED and changes nothing', async () => {
    const { service, reserves } = purchaseUnderTest();
    const first = await service.purchase('k-1', mugs, call());

    await expect(
      service.purchase('k-1', { ...mugs, customerId: 'c-2' }, call()),
    ).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });

    expect(reserves).toHaveLength(1);
    expect(await service.purchase('k-1', mugs, call())).toEqual({
      outcome: first.outcome,
      replayed: true,
    });
  });

  it('sent again while the first request with its key still runs is IDEMPOTENCY_KEY_IN_USE', async () => {
    const { service, script, reserves } = purchaseUnderTest();
    let answerReserve = (_state: ReservationState) => {};
    script.answer = () => new Promise((resolve) => (answerReserve = resolve));
    const first = service.purchase('k-1', mugs, call());
    await expect.poll(() => reserves.length).toBe(1);

    await expect(service.purchase('k-1', mugs, call())).rejects.toMatchObject({
      code: 'IDEMPOTENCY_KEY_IN_USE',
    });

    answerReserve('RESERVED');
    expect((await first).outcome.ok).toBe(true);
    expect(reserves).toHaveLength(1);
  });

  it('naming a SKU twice is INVALID_ARGUMENT before the key is claimed', async () => {
    const { service, reserves, keyHolds } = purchaseUnderTest();
    const twice = {
      customerId: 'c-1',
      items: [
        { sku: 'sku-red-mug', quantity: 1 },
        { sku: 'sku-red-mug', quantity: 2 },
      ],
    };

    await expect(service.purchase('k-1', twice, call())).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: { problems: [{ field: '/items/1/sku', message: 'SKU sku-red-mug appears twice' }] },
    });

    expect(keyHolds('k-1')).toBe(false);
    expect(reserves).toEqual([]);
  });
});

describe("inventory's definitive refusals", () => {
  it('short stock is stored under the key naming every short SKU: a retry replays it without asking inventory', async () => {
    const { service, script, reserves, released } = purchaseUnderTest();
    script.answer = () =>
      Promise.reject(
        new AppError('INSUFFICIENT_STOCK', 'short', {
          details: { skus: ['sku-blue-mug', 'sku-red-mug'] },
        }),
      );
    const refused: PurchaseOutcome = {
      ok: false,
      error: {
        code: 'INSUFFICIENT_STOCK',
        message: 'not enough stock for sku-blue-mug, sku-red-mug',
        details: { skus: ['sku-blue-mug', 'sku-red-mug'] },
      },
    };

    expect(await service.purchase('k-1', mugs, call())).toEqual({
      outcome: refused,
      replayed: false,
    });
    expect(await service.purchase('k-1', mugs, call())).toEqual({
      outcome: refused,
      replayed: true,
    });

    expect(reserves).toHaveLength(1);
    // Nothing was held, so there is nothing to give back.
    expect(released).toEqual([]);
  });

  it('an unknown SKU is stored as INVALID_ARGUMENT naming the line that holds it', async () => {
    const { service, script, released } = purchaseUnderTest();
    script.answer = () =>
      Promise.reject(new AppError('NOT_FOUND', 'unknown', { details: { skus: ['sku-blue-mug'] } }));

    const { outcome } = await service.purchase('k-1', mugs, call());

    expect(outcome).toEqual({
      ok: false,
      error: {
        code: 'INVALID_ARGUMENT',
        message: 'unknown SKU: sku-blue-mug',
        details: {
          problems: [{ field: '/items/1/sku', message: 'unknown SKU sku-blue-mug' }],
          skus: ['sku-blue-mug'],
        },
      },
    });
    expect((await service.purchase('k-1', mugs, call())).replayed).toBe(true);
    expect(released).toEqual([]);
  });
});

describe('a failure after the Reserve was sent (ADR 12)', () => {
  it('releases the order at once, forgets the key and answers the failure: the retry starts over under a new order id', async () => {
    const { service, script, reserves, released } = purchaseUnderTest();
    script.answer = () => Promise.reject(new AppError('DEADLINE_EXCEEDED', 'the deadline passed'));

    await expect(service.purchase('k-1', mugs, call())).rejects.toMatchObject({
      code: 'DEADLINE_EXCEEDED',
    });
    const firstOrderId = reserves[0]?.orderId;
    expect(released).toEqual([{ orderId: firstOrderId, reason: 'DEADLINE_EXCEEDED' }]);

    script.answer = () => Promise.resolve('RESERVED');
    const retry = await service.purchase('k-1', mugs, call());

    expect(retry.replayed).toBe(false);
    expect(reserves).toHaveLength(2);
    expect(reserves[1]?.orderId).not.toBe(firstOrderId);
    expect(retry.outcome.ok && retry.outcome.order.orderId).toBe(reserves[1]?.orderId);
  });

  it('that is not an AppError is released too, with the reason "error"', async () => {
    const { service, script, reserves, released } = purchaseUnderTest();
    script.answer = () => Promise.reject(new Error('socket hang up'));

    await expect(service.purchase('k-1', mugs, call())).rejects.toThrow('socket hang up');

    expect(released).toEqual([{ orderId: reserves[0]?.orderId, reason: 'error' }]);
  });

  it('when the order cannot be stored, releases the reservation and forgets the key', async () => {
    const { service, failures, reserves, released, orders, keyHolds } = purchaseUnderTest();
    failures.saveOrder = 1;

    await expect(service.purchase('k-1', mugs, call())).rejects.toThrow('the database went away');

    expect(released).toEqual([{ orderId: reserves[0]?.orderId, reason: 'order not stored' }]);
    expect(keyHolds('k-1')).toBe(false);
    expect(orders.size).toBe(0);
  });

  it('when even the key cannot be forgotten, still answers the failure and releases the order', async () => {
    const { service, script, failures, reserves, released } = purchaseUnderTest();
    script.answer = () => Promise.reject(new AppError('UNAVAILABLE', 'inventory is away'));
    failures.deleteKey = 1;

    await expect(service.purchase('k-1', mugs, call())).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });

    expect(released).toEqual([{ orderId: reserves[0]?.orderId, reason: 'UNAVAILABLE' }]);
    // The key stays locked for keyLockMs, longer than the background release may take.
    await expect(service.purchase('k-1', mugs, call())).rejects.toMatchObject({
      code: 'IDEMPOTENCY_KEY_IN_USE',
    });
  });
});

describe('a Reserve answered RELEASED', () => {
  it('(the order was released before, say by an earlier attempt) forgets the key and answers UNAVAILABLE, so the retry starts over', async () => {
    const { service, script, reserves, orders } = purchaseUnderTest();
    script.answer = () => Promise.resolve('RELEASED');

    await expect(service.purchase('k-1', mugs, call())).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
    expect(orders.size).toBe(0);

    script.answer = () => Promise.resolve('RESERVED');
    const retry = await service.purchase('k-1', mugs, call());

    expect(retry.outcome.ok).toBe(true);
    expect(reserves[1]?.orderId).not.toBe(reserves[0]?.orderId);
  });
});
