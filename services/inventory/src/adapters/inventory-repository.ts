import { randomUUID } from 'node:crypto';
import { STOCK_CHANGED, encodeEvent, type EncodedEvent } from '@switchboard/bus';
import { recordInboxMessage, writeOutboxEvents } from '@switchboard/outbox';
import { withTransaction } from '@switchboard/postgres';
import type pg from 'pg';
import type { InventoryRepository } from '../domain/inventory.js';
import { reservationNotFound } from '../domain/inventory-errors.js';
import {
  answerRepeatedReserve,
  bySku,
  checkAvailability,
  commitAction,
  releaseAction,
  sortItems,
  type StockLevel,
} from '../domain/stock-rules.js';
import type {
  CommitOutcome,
  Item,
  Reservation,
  ReservationState,
  Stock,
  WorkOptions,
} from '../domain/types.js';

interface ReservationRow {
  order_id: string;
  state: ReservationState;
  expires_at: Date;
}

interface StockRow {
  sku: string;
  name: string;
  on_hand: number;
  reserved: number;
}

const STOCK_COLUMNS = 'stock.sku, products.name, stock.on_hand, stock.reserved';

/**
 * The inventory in Postgres. Every change is one transaction that first locks what it checks:
 * the stock rows of an order, always in SKU order, so two orders over the same SKUs queue
 * behind each other instead of deadlocking, and no two can sell the same unit. A change of
 * stock writes its StockChanged events to the outbox in the same transaction.
 */
export function createInventoryRepository(
  pool: pg.Pool,
  {
    onOutboxWritten,
  }: {
    /** Called after a commit that wrote outbox rows, so the relay publishes them at once. */
    onOutboxWritten?: () => void;
  } = {},
): InventoryRepository {
  async function inTransaction<T>(
    options: WorkOptions | undefined,
    work: (client: pg.PoolClient, events: EncodedEvent[]) => Promise<T>,
  ): Promise<T> {
    // withTransaction rolls back, rather than commits, for a caller who gave up meanwhile
    // (say, while we waited for a row lock): no stock is held for it.
    const events: EncodedEvent[] = [];
    const result = await withTransaction(
      pool,
      async (client) => {
        const result = await work(client, events);
        // The transactional outbox: the events commit with the change or not at all.
        await writeOutboxEvents(client, events);
        return result;
      },
      { signal: options?.signal },
    );
    if (events.length > 0) onOutboxWritten?.();
    return result;
  }

  async function query<Row extends pg.QueryResultRow>(
    options: WorkOptions | undefined,
    text: string,
    values: unknown[],
  ): Promise<Row[]> {
    options?.signal?.throwIfAborted();
    const result = await pool.query<Row>(text, values);
    return result.rows;
  }

  return {
    reserve(command, options) {
      const { orderId, items, ttlSeconds } = command;
      return inTransaction(options, async (client, events) => {
        // Claims the order id first: a concurrent Reserve of the same order waits here on
        // the key until this transaction ends, then finds the stored reservation.
        const inserted = await client.query<ReservationRow>(
          `INSERT INTO reservations (order_id, state, expires_at)
           VALUES ($1, 'RESERVED', now() + make_interval(secs => $2))
           ON CONFLICT (order_id) DO NOTHING
           RETURNING order_id, state, expires_at`,
          [orderId, ttlSeconds],
        );
        const row = inserted.rows[0];
        if (!row) {
          const stored = await readReservation(client, orderId, { lock: false });
          if (!stored) throw new Error(`reservation ${orderId} conflicted but cannot be read`);
          return answerRepeatedReserve(stored, items);
        }

        const skus = items.map(({ sku }) => sku);
        const levels = await lockStock(client, skus);
        checkAvailability(items, levels);
        events.push(...(await changeStock(client, items, { reserved: +1, onHand: 0 })));
        await client.query(
          `INSERT INTO reservation_items (order_id, sku, quantity)
           SELECT $1, item.sku, item.quantity FROM unnest($2::text[], $3::int[]) AS item(sku, quantity)`,
          [orderId, skus, items.map(({ quantity }) => quantity)],
        );
        return toReservation(row, items);
      });
    },

    release(orderId, options) {
      return inTransaction(options, async (client, events) => {
        // A Release can overtake the Reserve it undoes (the caller gave up on a Reserve still
        // in flight, or the Reserve is retried later). So an order with no reservation gets a
        // RELEASED one with no items, a tombstone: its Reserve, whenever it comes, finds the
        // order released and holds nothing. If a Reserve of the order is in its transaction
        // right now, this insert waits for it on the key and then does nothing.
        const tombstone = await client.query<ReservationRow>(
          `INSERT INTO reservations (order_id, state, expires_at)
           VALUES ($1, 'RELEASED', now())
           ON CONFLICT (order_id) DO NOTHING
           RETURNING order_id, state, expires_at`,
          [orderId],
        );
        if (tombstone.rows[0]) return toReservation(tombstone.rows[0], []);

        // The row lock makes a concurrent Release (or a commit) of the same order wait.
        const stored = await readReservation(client, orderId, { lock: true });
        if (!stored) throw new Error(`reservation ${orderId} conflicted but cannot be read`);
        if (releaseAction(stored) === 'unchanged') return stored;

        await lockStock(
          client,
          stored.items.map(({ sku }) => sku),
        );
        events.push(...(await changeStock(client, stored.items, { reserved: -1, onHand: 0 })));
        await client.query(
          `UPDATE reservations SET state = 'RELEASED', updated_at = now() WHERE order_id = $1`,
          [orderId],
        );
        return { ...stored, state: 'RELEASED' };
      });
    },

    commit(orderId, message) {
      return inTransaction<CommitOutcome>(undefined, async (client, events) => {
        // The inbox first: a message delivered again stops here. While its first delivery is
        // still in its transaction, a second one waits here on the key, then stops.
        if (!(await recordInboxMessage(client, message.consumer, message.id))) {
          return { kind: 'duplicate-message' };
        }
        // The row lock makes a concurrent Release, expiry or commit of the order wait.
        const stored = await readReservation(client, orderId, { lock: true });
        if (!stored) throw reservationNotFound(orderId);
        const action = commitAction(stored);
        if (action === 'unchanged') return { kind: 'already-committed', reservation: stored };

        const levels = await lockStock(
          client,
          stored.items.map(({ sku }) => sku),
        );
        if (action === 'take-again') checkAvailability(stored.items, levels);
        const reserved = action === 'take-held' ? -1 : 0;
        events.push(...(await changeStock(client, stored.items, { reserved, onHand: -1 })));
        await client.query(
          `UPDATE reservations SET state = 'COMMITTED', updated_at = now() WHERE order_id = $1`,
          [orderId],
        );
        return { kind: 'committed', reservation: { ...stored, state: 'COMMITTED' } };
      });
    },

    releaseExpired(limit) {
      return inTransaction(undefined, async (client, events) => {
        // SKIP LOCKED: replicas sweeping at the same time take different reservations, and a
        // reservation being committed or released right now is left to that transaction.
        const expired = await client.query<{ order_id: string }>(
          `SELECT order_id FROM reservations
           WHERE state = 'RESERVED' AND expires_at <= now()
           ORDER BY expires_at
           LIMIT $1
           FOR UPDATE SKIP LOCKED`,
          [limit],
        );
        const orderIds = expired.rows.map((row) => row.order_id);
        if (orderIds.length === 0) return 0;

        const held = await client.query<Item>(
          `SELECT sku, sum(quantity)::int AS quantity FROM reservation_items
           WHERE order_id = ANY($1::text[])
           GROUP BY sku`,
          [orderIds],
        );
        await lockStock(
          client,
          held.rows.map(({ sku }) => sku),
        );
        events.push(...(await changeStock(client, held.rows, { reserved: -1, onHand: 0 })));
        await client.query(
          `UPDATE reservations SET state = 'RELEASED', updated_at = now()
           WHERE order_id = ANY($1::text[])`,
          [orderIds],
        );
        return orderIds.length;
      });
    },

    async getStock(sku, options) {
      const rows = await query<StockRow>(
        options,
        `SELECT ${STOCK_COLUMNS} FROM stock JOIN products USING (sku) WHERE stock.sku = $1`,
        [sku],
      );
      return rows[0] && toStock(rows[0]);
    },

    async listStock({ afterSku, limit }, options) {
      const rows = await query<StockRow>(
        options,
        `SELECT ${STOCK_COLUMNS} FROM stock JOIN products USING (sku)
         WHERE stock.sku > $1
         ORDER BY stock.sku
         LIMIT $2`,
        // SKUs are never empty, and '' sorts before every other text, so '' starts at the top.
        [afterSku ?? '', limit],
      );
      return rows.map(toStock);
    },

    async seedProducts(products) {
      if (products.length === 0) return;
      const sorted = products.toSorted(bySku);
      const skus = sorted.map(({ sku }) => sku);
      await inTransaction(undefined, async (client) => {
        await client.query(
          `INSERT INTO products (sku, name)
           SELECT * FROM unnest($1::text[], $2::text[]) ORDER BY 1
           ON CONFLICT (sku) DO UPDATE SET name = excluded.name
           WHERE products.name IS DISTINCT FROM excluded.name`,
          [skus, sorted.map(({ name }) => name)],
        );
        // DO NOTHING: stock that was sold or restocked since the last seed stays as it is.
        await client.query(
          `INSERT INTO stock (sku, on_hand)
           SELECT * FROM unnest($1::text[], $2::int[]) ORDER BY 1
           ON CONFLICT (sku) DO NOTHING`,
          [skus, sorted.map(({ onHand }) => onHand)],
        );
      });
    },
  };
}

/**
 * Moves the stock of the items, whose rows the transaction has locked (lockStock): `reserved`
 * and `on_hand` change by the quantity times the given sign. Returns the StockChanged event
 * of each SKU, with its levels after the change.
 */
async function changeStock(
  client: pg.PoolClient,
  items: Item[],
  sign: { reserved: -1 | 0 | 1; onHand: -1 | 0 },
): Promise<EncodedEvent[]> {
  const changed = await client.query<{ sku: string; on_hand: number; reserved: number }>(
    `UPDATE stock
     SET reserved = stock.reserved + $3::int * item.quantity,
         on_hand = stock.on_hand + $4::int * item.quantity,
         updated_at = now()
     FROM unnest($1::text[], $2::int[]) AS item(sku, quantity)
     WHERE stock.sku = item.sku
     RETURNING stock.sku, stock.on_hand, stock.reserved`,
    [
      items.map(({ sku }) => sku),
      items.map(({ quantity }) => quantity),
      sign.reserved,
      sign.onHand,
    ],
  );
  const occurredAt = new Date();
  return changed.rows.toSorted(bySku).map((row) =>
    encodeEvent(STOCK_CHANGED, {
      eventId: randomUUID(),
      occurredAt,
      sku: row.sku,
      onHand: row.on_hand,
      reserved: row.reserved,
      available: row.on_hand - row.reserved,
    }),
  );
}

/** Locks the stock rows of the SKUs in SKU order (the order every transaction uses). */
async function lockStock(client: pg.PoolClient, skus: string[]): Promise<Map<string, StockLevel>> {
  const result = await client.query<{ sku: string; on_hand: number; reserved: number }>(
    `SELECT sku, on_hand, reserved FROM stock WHERE sku = ANY($1::text[]) ORDER BY sku FOR UPDATE`,
    [skus],
  );
  return new Map(
    result.rows.map((row) => [row.sku, { onHand: row.on_hand, reserved: row.reserved }]),
  );
}

async function readReservation(
  client: pg.PoolClient,
  orderId: string,
  options: { lock: boolean },
): Promise<Reservation | undefined> {
  const reservations = await client.query<ReservationRow>(
    `SELECT order_id, state, expires_at FROM reservations WHERE order_id = $1
     ${options.lock ? 'FOR UPDATE' : ''}`,
    [orderId],
  );
  const row = reservations.rows[0];
  if (!row) return undefined;
  const items = await client.query<Item>(
    `SELECT sku, quantity FROM reservation_items WHERE order_id = $1`,
    [orderId],
  );
  return toReservation(row, items.rows);
}

function toReservation(row: ReservationRow, items: Item[]): Reservation {
  return {
    orderId: row.order_id,
    items: sortItems(items.map(({ sku, quantity }) => ({ sku, quantity }))),
    state: row.state,
    expiresAt: row.expires_at,
  };
}

function toStock(row: StockRow): Stock {
  return {
    sku: row.sku,
    name: row.name,
    onHand: row.on_hand,
    reserved: row.reserved,
    available: row.on_hand - row.reserved,
  };
}
