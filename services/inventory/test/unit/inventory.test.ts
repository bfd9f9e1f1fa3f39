import type { OrderLine, StockChanged } from '@switchboard/contracts';
import { createGroupCommit } from '@switchboard/postgres';
import { describe, expect, it } from 'vitest';
import { createInventory } from '../../src/domain/inventory.js';
import type { GroupInBatches } from '../../src/domain/batches.js';
import type {
  InventoryRepository,
  InventoryTransaction,
} from '../../src/domain/inventory-repository.js';
import type { Reservation, StockCount } from '../../src/domain/types.js';

/**
 * The repository port in memory: a transaction works on a copy of the state, which replaces
 * the state (and its events join the outbox) only if the work succeeds. Enough to test the
 * use cases' rules; the SQL, the locks and the races are tested against Postgres
 * (test/component).
 */
function inMemoryRepository(stock: Record<string, number>, groupInBatches?: GroupInBatches) {
  let state = {
    stock: new Map(
      Object.entries(stock).map(([sku, onHand]) => [sku, { sku, onHand, reserved: 0 }]),
    ),
    reservations: new Map<string, Reservation>(),
    inbox: new Set<string>(),
  };
  const outbox: StockChanged[] = [];
  let now = new Date('2026-01-01T00:00:00Z');

  const repository: InventoryRepository = {
    async inTransaction(options, work) {
      options?.signal?.throwIfAborted();
      const draft = structuredClone(state);
      const events: StockChanged[] = [];
      const transaction: InventoryTransaction = {
        insertReservations(reservations) {
          const inserted: Reservation[] = [];
          for (const { orderId, state: reservationState, ttlSeconds } of reservations) {
            if (draft.reservations.has(orderId)) continue;
            const reservation = {
              orderId,
              items: [],
              state: reservationState,
              expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
            };
            draft.reservations.set(orderId, reservation);
            inserted.push(structuredClone(reservation));
          }
          return Promise.resolve(inserted);
        },
        deleteReservations(orderIds) {
          for (const orderId of orderIds) draft.reservations.delete(orderId);
          return Promise.resolve();
        },
        readReservation(orderId) {
          return Promise.resolve(structuredClone(draft.reservations.get(orderId)));
        },
        addReservationItems(reservations) {
          for (const { orderId, items } of reservations) {
            draft.reservations.get(orderId)?.items.push(...items);
          }
          return Promise.resolve();
        },
        setReservationState(orderIds, reservationState) {
          for (const orderId of orderIds) {
            const reservation = draft.reservations.get(orderId);
            if (reservation) reservation.state = reservationState;
          }
          return Promise.resolve();
        },
        lockExpiredReservations(limit) {
          const expired = [...draft.reservations.values()]
            .filter(({ state: s, expiresAt }) => s === 'RESERVED' && expiresAt <= now)
            .slice(0, limit);
          return Promise.resolve(expired.map(({ orderId }) => orderId));
        },
        heldItems(orderIds) {
          const held = new Map<string, number>();
          for (const orderId of orderIds) {
            for (const { sku, quantity } of draft.reservations.get(orderId)?.items ?? []) {
              held.set(sku, (held.get(sku) ?? 0) + quantity);
            }
          }
          return Promise.resolve([...held].map(([sku, quantity]) => ({ sku, quantity })));
        },
        lockStock(skus) {
          const locked = new Map<string, StockCount>();
          for (const sku of skus) {
            const count = draft.stock.get(sku);
            if (count) locked.set(sku, { ...count });
          }
          return Promise.resolve(locked);
        },
        updateStock(counts) {
          for (const count of counts) draft.stock.set(count.sku, { ...count });
          return Promise.resolve();
        },
        addToOutbox(stockChanges) {
          events.push(...stockChanges);
        },
        lockReservations(orderIds) {
          const locked = new Map<string, Reservation>();
          for (const orderId of orderIds) {
            const reservation = draft.reservations.get(orderId);
            if (reservation) locked.set(orderId, structuredClone(reservation));
          }
          return Promise.resolve(locked);
        },
        recordInboxMessages(consumer, ids) {
          const fresh = new Set<string>();
          for (const id of ids) {
            const key = `${consumer}/${id}`;
            if (draft.inbox.has(key)) continue;
            draft.inbox.add(key);
            fresh.add(id);
          }
          return Promise.resolve(fresh);
        },
        forgetInboxMessages(consumer, ids) {
          for (const id of ids) draft.inbox.delete(`${consumer}/${id}`);
          return Promise.resolve();
        },
      };
      const result = await work(transaction);
      options?.signal?.throwIfAborted();
      state = draft;
      outbox.push(...events);
      return result;
    },
    getStock: () => Promise.reject(new Error('not used here')),
    listStock: () => Promise.reject(new Error('not used here')),
    seedProducts: () => Promise.reject(new Error('not used here')),
  };

  return {
    inventory: createInventory(repository, { groupInBatches }),
    outbox,
    stockOf: (sku: string): StockCount | undefined => state.stock.get(sku),
    passSeconds: (seconds: number) => {
      now = new Date(now.getTime() + seconds * 1000);
    },
  };
}

const message = (id: string) => ({ consumer: 'inventory-orders', id });
const reserve = (orderId: string, items: OrderLine[], ttlSeconds = 60) => ({
  orderId,
  items,
  ttlSeconds,
});

describe('Reserve', () => {
  it('holds every item and writes one StockChanged per SKU with its levels after the change', async () => {
    const { inventory, outbox, stockOf } = inMemoryRepository({ a: 5, b: 5 });

    const reservation = await inventory.reserve(
      reserve('o-1', [
        { sku: 'b', quantity: 1 },
        { sku: 'a', quantity: 2 },
      ]),
    );

    expect(reservation).toMatchObject({
      orderId: 'o-1',
      state: 'RESERVED',
      items: [
        { sku: 'a', quantity: 2 },
        { sku: 'b', quantity: 1 },
      ],
    });
    expect(stockOf('a')).toEqual({ sku: 'a', onHand: 5, reserved: 2 });
    expect(outbox).toMatchObject([
      { sku: 'a', onHand: 5, reserved: 2, available: 3 },
      { sku: 'b', onHand: 5, reserved: 1, available: 4 },
    ]);
  });

  it('when one item is short, refuses naming it and holds none of the items', async () => {
    const { inventory, outbox, stockOf } = inMemoryRepository({ a: 5, b: 1 });

    await expect(
      inventory.reserve(
        reserve('o-1', [
          { sku: 'a', quantity: 2 },
          { sku: 'b', quantity: 2 },
        ]),
      ),
    ).rejects.toMatchObject({ code: 'INSUFFICIENT_STOCK', details: { skus: ['b'] } });
    expect(stockOf('a')?.reserved).toBe(0);
    expect(outbox).toEqual([]);
  });

  it('repeated with the same items answers the stored reservation and holds nothing more', async () => {
    const { inventory, stockOf } = inMemoryRepository({ a: 5 });
    const first = await inventory.reserve(reserve('o-1', [{ sku: 'a', quantity: 2 }]));

    const again = await inventory.reserve(reserve('o-1', [{ sku: 'a', quantity: 2 }], 30));

    expect(again).toEqual(first);
    expect(stockOf('a')?.reserved).toBe(2);
    await expect(
      inventory.reserve(reserve('o-1', [{ sku: 'a', quantity: 3 }])),
    ).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
  });

  it('refuses an invalid request before any transaction', async () => {
    const { inventory, outbox } = inMemoryRepository({ a: 5 });

    await expect(
      Promise.resolve().then(() => inventory.reserve(reserve('', [], 0))),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(outbox).toEqual([]);
  });

  it('whose caller gave up before the commit holds nothing', async () => {
    const { inventory, stockOf } = inMemoryRepository({ a: 5 });
    const gaveUp = AbortSignal.abort();

    await expect(
      inventory.reserve(reserve('o-1', [{ sku: 'a', quantity: 1 }]), { signal: gaveUp }),
    ).rejects.toThrow();
    expect(stockOf('a')?.reserved).toBe(0);
  });
});

/**
 * Group commit as app.ts wires it, one batch at a time: the calls made in the same turn of
 * the event loop share a batch.
 */
const sameTurnInOneBatch: GroupInBatches = (_useCase, runTogether, keyOf) => {
  const batches = createGroupCommit({ run: runTogether, keyOf, maxBatch: 64, maxInFlight: 1 });
  return (request, signal) => batches.submit(request, signal);
};

describe('Reserve in a batch (group commit)', () => {
  it('decides each order in turn: a short one is refused alone, the others are held', async () => {
    const { inventory, outbox, stockOf } = inMemoryRepository({ a: 5, b: 5 }, sameTurnInOneBatch);

    const answers = await Promise.allSettled([
      inventory.reserve(reserve('o-1', [{ sku: 'a', quantity: 3 }])),
      inventory.reserve(
        reserve('o-2', [
          { sku: 'a', quantity: 3 },
          { sku: 'b', quantity: 1 },
        ]),
      ),
      inventory.reserve(
        reserve('o-3', [
          { sku: 'a', quantity: 2 },
          { sku: 'b', quantity: 4 },
        ]),
      ),
      inventory.reserve(reserve('o-4', [{ sku: 'nope', quantity: 1 }])),
    ]);

    expect(
      answers.map((answer) =>
        answer.status === 'fulfilled'
          ? answer.value.state
          : (answer.reason as { code: string }).code,
      ),
    ).toEqual(['RESERVED', 'INSUFFICIENT_STOCK', 'RESERVED', 'NOT_FOUND']);
    expect(stockOf('a')).toEqual({ sku: 'a', onHand: 5, reserved: 5 });
    expect(stockOf('b')).toEqual({ sku: 'b', onHand: 5, reserved: 4 });
    // One event per SKU the batch changed, with the levels after the whole batch.
    expect(outbox.map(({ sku, reserved }) => ({ sku, reserved }))).toEqual([
      { sku: 'a', reserved: 5 },
      { sku: 'b', reserved: 4 },
    ]);
  });

  it('keeps no reservation for a refused order, so it may be reserved when stock is back', async () => {
    const { inventory } = inMemoryRepository({ a: 1 }, sameTurnInOneBatch);

    const answers = await Promise.allSettled([
      inventory.reserve(reserve('o-1', [{ sku: 'a', quantity: 1 }])),
      inventory.reserve(reserve('o-2', [{ sku: 'a', quantity: 1 }])),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual(['fulfilled', 'rejected']);
    await inventory.release('o-1');

    await expect(
      inventory.reserve(reserve('o-2', [{ sku: 'a', quantity: 1 }])),
    ).resolves.toMatchObject({
      state: 'RESERVED',
    });
  });
});

describe('Release', () => {
  it('gives the held stock back once, however often it is repeated', async () => {
    const { inventory, outbox, stockOf } = inMemoryRepository({ a: 5 });
    await inventory.reserve(reserve('o-1', [{ sku: 'a', quantity: 2 }]));

    expect(await inventory.release('o-1')).toMatchObject({ state: 'RELEASED' });
    expect(await inventory.release('o-1')).toMatchObject({ state: 'RELEASED' });

    expect(stockOf('a')).toEqual({ sku: 'a', onHand: 5, reserved: 0 });
    expect(outbox.map(({ reserved }) => reserved)).toEqual([2, 0]);
  });

  it('of an order not seen yet leaves a tombstone: the late Reserve answers RELEASED and holds nothing', async () => {
    const { inventory, outbox, stockOf } = inMemoryRepository({ a: 5 });

    expect(await inventory.release('o-1')).toMatchObject({ state: 'RELEASED', items: [] });
    const late = await inventory.reserve(reserve('o-1', [{ sku: 'a', quantity: 2 }]));

    expect(late).toMatchObject({ orderId: 'o-1', state: 'RELEASED', items: [] });
    expect(stockOf('a')?.reserved).toBe(0);
    expect(outbox).toEqual([]);
  });

  it('of a committed reservation is refused with ALREADY_EXISTS', async () => {
    const { inventory } = inMemoryRepository({ a: 5 });
    await inventory.reserve(reserve('o-1', [{ sku: 'a', quantity: 2 }]));
    await inventory.commit('o-1', message('e-1'));

    await expect(inventory.release('o-1')).rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
      details: { orderId: 'o-1', state: 'COMMITTED' },
    });
  });
});

describe('commit', () => {
  it('takes the held units off the shelf once, whatever the messages asking for it', async () => {
    const { inventory, stockOf } = inMemoryRepository({ a: 5 });
    await inventory.reserve(reserve('o-1', [{ sku: 'a', quantity: 2 }]));

    expect(await inventory.commit('o-1', message('e-1'))).toMatchObject({ kind: 'committed' });
    expect(await inventory.commit('o-1', message('e-1'))).toEqual({ kind: 'duplicate-message' });
    expect(await inventory.commit('o-1', message('e-2'))).toMatchObject({
      kind: 'already-committed',
    });

    expect(stockOf('a')).toEqual({ sku: 'a', onHand: 3, reserved: 0 });
  });

  it('of a reservation released meanwhile takes the units again, or refuses when they are gone', async () => {
    const { inventory, stockOf } = inMemoryRepository({ a: 3 });
    await inventory.reserve(reserve('o-1', [{ sku: 'a', quantity: 2 }]));
    await inventory.reserve(reserve('o-2', [{ sku: 'a', quantity: 1 }]));
    await inventory.release('o-1');
    await inventory.release('o-2');
    await inventory.reserve(reserve('o-3', [{ sku: 'a', quantity: 2 }]));

    expect(await inventory.commit('o-2', message('e-2'))).toMatchObject({ kind: 'committed' });
    await expect(inventory.commit('o-1', message('e-1'))).rejects.toMatchObject({
      code: 'INSUFFICIENT_STOCK',
    });

    expect(stockOf('a')).toEqual({ sku: 'a', onHand: 2, reserved: 2 });
  });

  it('of an order without a reservation is NOT_FOUND, and the message is not recorded', async () => {
    const { inventory } = inMemoryRepository({ a: 3 });

    await expect(inventory.commit('o-1', message('e-1'))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(inventory.commit('o-1', message('e-1'))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});

describe('commit in a batch (group commit)', () => {
  it('decides each message alone: the failed ones are taken back, the others commit together', async () => {
    const { inventory, outbox, stockOf } = inMemoryRepository({ a: 4, b: 4 }, sameTurnInOneBatch);
    await inventory.reserve(reserve('o-1', [{ sku: 'a', quantity: 1 }]));
    await inventory.reserve(
      reserve('o-2', [
        { sku: 'a', quantity: 2 },
        { sku: 'b', quantity: 1 },
      ]),
    );
    await inventory.reserve(reserve('o-3', [{ sku: 'a', quantity: 1 }]));
    await inventory.release('o-3');
    await inventory.reserve(reserve('o-4', [{ sku: 'a', quantity: 1 }]));
    await inventory.commit('o-1', message('e-0'));
    outbox.length = 0;

    const answers = await Promise.allSettled([
      inventory.commit('o-1', message('e-0')), // the same message again
      inventory.commit('o-2', message('e-2')),
      inventory.commit('o-3', message('e-3')), // released, and its unit is held by o-4 now
      inventory.commit('o-9', message('e-9')), // no reservation
      inventory.commit('o-4', message('e-4')),
    ]);

    expect(
      answers.map((answer) =>
        answer.status === 'fulfilled'
          ? answer.value.kind
          : (answer.reason as { code: string }).code,
      ),
    ).toEqual(['duplicate-message', 'committed', 'INSUFFICIENT_STOCK', 'NOT_FOUND', 'committed']);
    expect(stockOf('a')).toEqual({ sku: 'a', onHand: 0, reserved: 0 });
    expect(stockOf('b')).toEqual({ sku: 'b', onHand: 3, reserved: 0 });
    expect(outbox.map(({ sku, onHand }) => ({ sku, onHand }))).toEqual([
      { sku: 'a', onHand: 0 },
      { sku: 'b', onHand: 3 },
    ]);
    // The failed messages were taken back out of the inbox: they fail again, not as seen.
    await expect(inventory.commit('o-9', message('e-9'))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});

describe('releaseExpired', () => {
  it('gives back the stock of reservations past their TTL and leaves the others', async () => {
    const { inventory, stockOf, passSeconds } = inMemoryRepository({ a: 5 });
    await inventory.reserve(reserve('o-1', [{ sku: 'a', quantity: 1 }], 60));
    await inventory.reserve(reserve('o-2', [{ sku: 'a', quantity: 2 }], 120));
    passSeconds(90);

    expect(await inventory.releaseExpired(10)).toBe(1);
    expect(await inventory.releaseExpired(10)).toBe(0);
    expect(stockOf('a')).toEqual({ sku: 'a', onHand: 5, reserved: 2 });
    expect(await inventory.commit('o-2', message('e-2'))).toMatchObject({ kind: 'committed' });
  });
});
