import { ProtoReservationState } from '@switchboard/contracts';
import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  failureOf,
  givenStock,
  inSeconds,
  inventoryOnFreshDatabase,
  stockRow,
  unique,
  type InventoryUnderTest,
} from '../support/inventory-under-test.js';

let db: pg.Pool;
let inventory: InventoryUnderTest;

beforeAll(async () => {
  ({ db, inventory } = await inventoryOnFreshDatabase('reservations'));
});

describe('Reserve', () => {
  it('holds every item of the order and answers the reservation', async () => {
    const [mug, bag] = [unique('mug'), unique('bag')];
    await givenStock(db, { [mug]: 10, [bag]: 5 });
    const orderId = unique('order');
    const before = Date.now();

    const { reservation } = await inventory.client.reserve(
      {
        orderId,
        items: [
          { sku: mug, quantity: 3 },
          { sku: bag, quantity: 5 },
        ],
        ttlSeconds: 120,
      },
      inSeconds(5),
    );

    expect(reservation).toMatchObject({
      orderId,
      state: ProtoReservationState.RESERVATION_STATE_RESERVED,
      items: expect.arrayContaining([
        { sku: mug, quantity: 3 },
        { sku: bag, quantity: 5 },
      ]),
    });
    expect(reservation!.items).toHaveLength(2);
    expect(reservation!.expiresAt!.getTime()).toBeGreaterThanOrEqual(before + 119_000);
    expect(reservation!.expiresAt!.getTime()).toBeLessThanOrEqual(Date.now() + 121_000);
    expect(await stockRow(db, mug)).toEqual({ onHand: 10, reserved: 3 });
    expect(await stockRow(db, bag)).toEqual({ onHand: 5, reserved: 5 });
  });

  it('when some items are short, holds nothing and names every short SKU', async () => {
    const [plenty, shortA, shortB] = [unique('plenty'), unique('short-a'), unique('short-b')];
    await givenStock(db, { [plenty]: 100, [shortA]: 1, [shortB]: 0 });
    const orderId = unique('order');

    const error = await failureOf(
      inventory.client.reserve(
        {
          orderId,
          items: [
            { sku: shortB, quantity: 1 },
            { sku: plenty, quantity: 10 },
            { sku: shortA, quantity: 2 },
          ],
          ttlSeconds: 60,
        },
        inSeconds(5),
      ),
    );

    expect(error).toMatchObject({
      code: 'INSUFFICIENT_STOCK',
      details: { skus: [shortA, shortB].sort() },
      cause: { code: 9 }, // gRPC FAILED_PRECONDITION on the wire
    });
    expect((error as Error).message).toContain(shortA);
    expect((error as Error).message).toContain(shortB);
    expect(await stockRow(db, plenty)).toEqual({ onHand: 100, reserved: 0 });
    expect(await stockRow(db, shortA)).toEqual({ onHand: 1, reserved: 0 });
    const stored = await db.query('SELECT 1 FROM reservations WHERE order_id = $1', [orderId]);
    expect(stored.rowCount).toBe(0);
  });

  it('when SKUs are unknown, answers NOT_FOUND naming each of them and holds nothing', async () => {
    const known = unique('known');
    await givenStock(db, { [known]: 10 });
    const [ghost1, ghost2] = [unique('ghost'), unique('ghost')];

    const error = await failureOf(
      inventory.client.reserve(
        {
          orderId: unique('order'),
          items: [
            { sku: known, quantity: 1 },
            { sku: ghost1, quantity: 1 },
            { sku: ghost2, quantity: 1 },
          ],
          ttlSeconds: 60,
        },
        inSeconds(5),
      ),
    );

    expect(error).toMatchObject({ code: 'NOT_FOUND', details: { skus: [ghost1, ghost2].sort() } });
    expect((error as Error).message).toContain(ghost1);
    expect((error as Error).message).toContain(ghost2);
    expect(await stockRow(db, known)).toEqual({ onHand: 10, reserved: 0 });
  });

  it('rejects an invalid request with INVALID_ARGUMENT listing every problem', async () => {
    const sku = unique('sku');
    await givenStock(db, { [sku]: 10 });

    const error = await failureOf(
      inventory.client.reserve(
        {
          orderId: '',
          items: [
            { sku, quantity: 0 },
            { sku, quantity: 1001 },
            { sku: '', quantity: 1 },
          ],
          ttlSeconds: 3601,
        },
        inSeconds(5),
      ),
    );

    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', cause: { code: 3 } });
    const { problems } = (error as { details: { problems: { field: string }[] } }).details;
    expect(problems.map(({ field }) => field).sort()).toEqual(
      [
        'order_id',
        'items[0].quantity',
        'items[1].sku',
        'items[1].quantity',
        'items[2].sku',
        'ttl_seconds',
      ].sort(),
    );
    expect(await stockRow(db, sku)).toEqual({ onHand: 10, reserved: 0 });
  });

  it('rejects an order without items and without a TTL, naming both', async () => {
    const error = await failureOf(
      inventory.client.reserve(
        { orderId: unique('order'), items: [], ttlSeconds: 0 },
        inSeconds(5),
      ),
    );

    expect(error).toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: {
        problems: [
          { field: 'items', message: expect.any(String) },
          { field: 'ttl_seconds', message: expect.any(String) },
        ],
      },
    });
  });

  it('repeated for the same order, answers the same reservation and holds the stock once', async () => {
    const sku = unique('sku');
    await givenStock(db, { [sku]: 10 });
    const request = { orderId: unique('order'), items: [{ sku, quantity: 4 }], ttlSeconds: 60 };

    const first = await inventory.client.reserve(request, inSeconds(5));
    const second = await inventory.client.reserve(request, inSeconds(5));

    expect(second).toEqual(first);
    expect(await stockRow(db, sku)).toEqual({ onHand: 10, reserved: 4 });
  });

  it('repeated at the same time for the same order, holds the stock once', async () => {
    const sku = unique('sku');
    await givenStock(db, { [sku]: 100 });
    const request = { orderId: unique('order'), items: [{ sku, quantity: 7 }], ttlSeconds: 60 };

    const answers = await Promise.all(
      Array.from({ length: 10 }, () => inventory.client.reserve(request, inSeconds(10))),
    );

    for (const answer of answers) expect(answer).toEqual(answers[0]);
    expect(await stockRow(db, sku)).toEqual({ onHand: 100, reserved: 7 });
  });

  it('repeated for the same order with other items, answers ALREADY_EXISTS and changes nothing', async () => {
    const [mug, bag] = [unique('mug'), unique('bag')];
    await givenStock(db, { [mug]: 10, [bag]: 10 });
    const orderId = unique('order');
    await inventory.client.reserve(
      { orderId, items: [{ sku: mug, quantity: 1 }], ttlSeconds: 60 },
      inSeconds(5),
    );

    const error = await failureOf(
      inventory.client.reserve(
        {
          orderId,
          items: [
            { sku: mug, quantity: 1 },
            { sku: bag, quantity: 1 },
          ],
          ttlSeconds: 60,
        },
        inSeconds(5),
      ),
    );

    expect(error).toMatchObject({ code: 'ALREADY_EXISTS', details: { orderId } });
    expect(await stockRow(db, mug)).toEqual({ onHand: 10, reserved: 1 });
    expect(await stockRow(db, bag)).toEqual({ onHand: 10, reserved: 0 });
  });

  it('when the deadline passes while the stock is locked, answers DEADLINE_EXCEEDED and holds nothing', async () => {
    const sku = unique('sku');
    await givenStock(db, { [sku]: 10 });
    const orderId = unique('order');
    const blocker = await db.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM stock WHERE sku = $1 FOR UPDATE', [sku]);

      const error = await failureOf(
        inventory.client.reserve(
          { orderId, items: [{ sku, quantity: 1 }], ttlSeconds: 60 },
          { deadline: new Date(Date.now() + 300) },
        ),
      );
      expect(error).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    } finally {
      await blocker.query('COMMIT');
      blocker.release();
    }

    // The server's transaction resumes once the lock is gone; wait until it has ended.
    await expect
      .poll(async () => {
        const busy = await db.query(
          `SELECT 1 FROM pg_stat_activity
           WHERE application_name = 'inventory' AND datname = current_database() AND state <> 'idle'`,
        );
        return busy.rowCount;
      })
      .toBe(0);
    expect(await stockRow(db, sku)).toEqual({ onHand: 10, reserved: 0 });
    const stored = await db.query('SELECT 1 FROM reservations WHERE order_id = $1', [orderId]);
    expect(stored.rowCount).toBe(0);
  });

  it('treats the same items in another order as the same request', async () => {
    const [mug, bag] = [unique('mug'), unique('bag')];
    await givenStock(db, { [mug]: 10, [bag]: 10 });
    const orderId = unique('order');
    const items = [
      { sku: mug, quantity: 1 },
      { sku: bag, quantity: 2 },
    ];

    const first = await inventory.client.reserve({ orderId, items, ttlSeconds: 60 }, inSeconds(5));
    const second = await inventory.client.reserve(
      { orderId, items: items.toReversed(), ttlSeconds: 60 },
      inSeconds(5),
    );

    expect(second).toEqual(first);
    expect(await stockRow(db, bag)).toEqual({ onHand: 10, reserved: 2 });
  });
});

describe('Release', () => {
  async function reserved(quantity: number, onHand = 10) {
    const sku = unique('sku');
    await givenStock(db, { [sku]: onHand });
    const orderId = unique('order');
    await inventory.client.reserve(
      { orderId, items: [{ sku, quantity }], ttlSeconds: 60 },
      inSeconds(5),
    );
    return { sku, orderId };
  }

  it('gives the held stock back and answers the released reservation', async () => {
    const { sku, orderId } = await reserved(4);
    expect(await stockRow(db, sku)).toEqual({ onHand: 10, reserved: 4 });

    const { reservation } = await inventory.client.release({ orderId }, inSeconds(5));

    expect(reservation).toMatchObject({
      orderId,
      state: ProtoReservationState.RESERVATION_STATE_RELEASED,
      items: [{ sku, quantity: 4 }],
    });
    expect(await stockRow(db, sku)).toEqual({ onHand: 10, reserved: 0 });
  });

  it('released again, answers the same released reservation and gives nothing back twice', async () => {
    const { sku, orderId } = await reserved(4);
    // Someone else holds 3, which a second give-back would wrongly free.
    await inventory.client.reserve(
      { orderId: unique('order'), items: [{ sku, quantity: 3 }], ttlSeconds: 60 },
      inSeconds(5),
    );

    const first = await inventory.client.release({ orderId }, inSeconds(5));
    const second = await inventory.client.release({ orderId }, inSeconds(5));

    expect(second).toEqual(first);
    expect(await stockRow(db, sku)).toEqual({ onHand: 10, reserved: 3 });
  });

  it('after a release, a repeated Reserve of the order answers it released and holds nothing', async () => {
    const { sku, orderId } = await reserved(4);
    await inventory.client.release({ orderId }, inSeconds(5));

    const { reservation } = await inventory.client.reserve(
      { orderId, items: [{ sku, quantity: 4 }], ttlSeconds: 60 },
      inSeconds(5),
    );

    expect(reservation?.state).toBe(ProtoReservationState.RESERVATION_STATE_RELEASED);
    expect(await stockRow(db, sku)).toEqual({ onHand: 10, reserved: 0 });
  });

  it('before the Reserve it undoes, answers the order released, and the late Reserve holds nothing', async () => {
    const sku = unique('sku');
    await givenStock(db, { [sku]: 10 });
    const orderId = unique('overtaken');

    const { reservation: released } = await inventory.client.release({ orderId }, inSeconds(5));
    const { reservation: late } = await inventory.client.reserve(
      { orderId, items: [{ sku, quantity: 4 }], ttlSeconds: 60 },
      inSeconds(5),
    );

    expect(released).toMatchObject({
      orderId,
      state: ProtoReservationState.RESERVATION_STATE_RELEASED,
      items: [],
    });
    expect(late?.state).toBe(ProtoReservationState.RESERVATION_STATE_RELEASED);
    expect(await stockRow(db, sku)).toEqual({ onHand: 10, reserved: 0 });
    // Released again, it answers the same: releasing twice is not an error.
    expect((await inventory.client.release({ orderId }, inSeconds(5))).reservation).toEqual(
      released,
    );
  });

  it('while the Reserve it undoes is still in its transaction, waits for it and gives its stock back', async () => {
    const sku = unique('sku');
    await givenStock(db, { [sku]: 10 });
    const orderId = unique('racing');
    // Holds the stock row, so the Reserve stops inside its transaction, after claiming the order.
    const blocker = await db.connect();
    let reserving;
    let releasing;
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM stock WHERE sku = $1 FOR UPDATE', [sku]);
      reserving = inventory.client.reserve(
        { orderId, items: [{ sku, quantity: 4 }], ttlSeconds: 60 },
        inSeconds(10),
      );
      // Failures are asserted below, when awaited; until then they are not unhandled.
      reserving.catch(() => {});
      await expect.poll(() => waitingOnLocks(db)).toBe(1);
      releasing = inventory.client.release({ orderId }, inSeconds(10));
      releasing.catch(() => {});
      await expect.poll(() => waitingOnLocks(db)).toBe(2);
    } finally {
      await blocker.query('COMMIT');
      blocker.release();
    }

    expect((await reserving).reservation?.state).toBe(
      ProtoReservationState.RESERVATION_STATE_RESERVED,
    );
    expect((await releasing).reservation).toMatchObject({
      orderId,
      state: ProtoReservationState.RESERVATION_STATE_RELEASED,
      items: [{ sku, quantity: 4 }],
    });
    expect(await stockRow(db, sku)).toEqual({ onHand: 10, reserved: 0 });
  });

  it('for a committed reservation, answers ALREADY_EXISTS and keeps the stock held', async () => {
    const { sku, orderId } = await reserved(4);
    await db.query(`UPDATE reservations SET state = 'COMMITTED' WHERE order_id = $1`, [orderId]);

    const error = await failureOf(inventory.client.release({ orderId }, inSeconds(5)));

    expect(error).toMatchObject({
      code: 'ALREADY_EXISTS',
      details: { orderId, state: 'COMMITTED' },
    });
    expect(await stockRow(db, sku)).toEqual({ onHand: 10, reserved: 4 });
  });

  it('with an empty order id, answers INVALID_ARGUMENT', async () => {
    const error = await failureOf(inventory.client.release({ orderId: '' }, inSeconds(5)));

    expect(error).toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: { problems: [{ field: 'order_id', message: 'must not be empty' }] },
    });
  });
});

/** How many of inventory's statements are waiting for a lock right now. */
async function waitingOnLocks(db: pg.Pool): Promise<number> {
  const waiting = await db.query(
    `SELECT 1 FROM pg_stat_activity
     WHERE application_name = 'inventory' AND datname = current_database()
       AND wait_event_type = 'Lock'`,
  );
  return waiting.rowCount ?? 0;
}
