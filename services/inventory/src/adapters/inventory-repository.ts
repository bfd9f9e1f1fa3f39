import { encodeEvent, type EncodedEvent } from '@switchboard/bus';
import type { OrderLine, ReservationState } from '@switchboard/contracts';
import { STOCK_CHANGED } from '@switchboard/events';
import { forgetInboxMessages, recordInboxMessages, writeOutboxEvents } from '@switchboard/outbox';
import { reportingTransientAsUnavailable, withTransaction } from '@switchboard/postgres';
import type pg from 'pg';
import type { InventoryRepository, InventoryTransaction } from '../domain/inventory-repository.js';
import { bySku, sortItems } from '../domain/stock-rules.js';
import type { Reservation, Stock, WorkOptions } from '../domain/types.js';

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
 * The inventory in Postgres: the rows the use cases read, lock and write, in the transaction
 * they ask for. The rules are the domain's (domain/inventory.ts); the StockChanged events a
 * change adds to the outbox are written in its transaction, before the commit.
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

  // A database that is only busy or restarting answers UNAVAILABLE, never INTERNAL.
  return reportingTransientAsUnavailable<InventoryRepository>({
    inTransaction(options, work) {
      return inTransaction(options, (client, events) => work(createTransaction(client, events)));
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
  });
}

/** The SQL of one transaction's work; the events it is given are written with its commit. */
function createTransaction(client: pg.PoolClient, events: EncodedEvent[]): InventoryTransaction {
  return {
    async insertReservations(reservations) {
      const sorted = reservations.toSorted((a, b) => (a.orderId < b.orderId ? -1 : 1));
      const inserted = await client.query<ReservationRow>(
        `INSERT INTO reservations (order_id, state, expires_at)
         SELECT order_id, state, now() + make_interval(secs => ttl)
         FROM unnest($1::text[], $2::text[], $3::float8[]) AS wanted(order_id, state, ttl)
         ORDER BY order_id
         ON CONFLICT (order_id) DO NOTHING
         RETURNING order_id, state, expires_at`,
        [
          sorted.map(({ orderId }) => orderId),
          sorted.map(({ state }) => state),
          sorted.map(({ ttlSeconds }) => ttlSeconds),
        ],
      );
      return inserted.rows.map((row) => toReservation(row, []));
    },

    async deleteReservations(orderIds) {
      await client.query(`DELETE FROM reservations WHERE order_id = ANY($1::text[])`, [orderIds]);
    },

    readReservation(orderId, { lock }) {
      return readReservation(client, orderId, { lock });
    },

    async lockReservations(orderIds) {
      const locked = await client.query<ReservationRow>(
        `SELECT order_id, state, expires_at FROM reservations
         WHERE order_id = ANY($1::text[])
         ORDER BY order_id
         FOR UPDATE`,
        [orderIds],
      );
      const items = await client.query<OrderLine & { order_id: string }>(
        `SELECT order_id, sku, quantity FROM reservation_items WHERE order_id = ANY($1::text[])`,
        [orderIds],
      );
      return new Map(
        locked.rows.map((row) => [
          row.order_id,
          toReservation(
            row,
            items.rows.filter((item) => item.order_id === row.order_id),
          ),
        ]),
      );
    },

    async addReservationItems(reservations) {
      const rows = reservations.flatMap(({ orderId, items }) =>
        items.map(({ sku, quantity }) => ({ orderId, sku, quantity })),
      );
      await client.query(
        `INSERT INTO reservation_items (order_id, sku, quantity)
         SELECT * FROM unnest($1::text[], $2::text[], $3::int[])`,
        [
          rows.map(({ orderId }) => orderId),
          rows.map(({ sku }) => sku),
          rows.map(({ quantity }) => quantity),
        ],
      );
    },

    async setReservationState(orderIds, state) {
      await client.query(
        `UPDATE reservations SET state = $2, updated_at = now() WHERE order_id = ANY($1::text[])`,
        [orderIds, state],
      );
    },

    async lockExpiredReservations(limit) {
      const expired = await client.query<{ order_id: string }>(
        `SELECT order_id FROM reservations
         WHERE state = 'RESERVED' AND expires_at <= now()
         ORDER BY expires_at
         LIMIT $1
         FOR UPDATE SKIP LOCKED`,
        [limit],
      );
      return expired.rows.map((row) => row.order_id);
    },

    async heldItems(orderIds) {
      const held = await client.query<OrderLine>(
        `SELECT sku, sum(quantity)::int AS quantity FROM reservation_items
         WHERE order_id = ANY($1::text[])
         GROUP BY sku`,
        [orderIds],
      );
      return held.rows;
    },

    async lockStock(skus) {
      const locked = await client.query<{ sku: string; on_hand: number; reserved: number }>(
        `SELECT sku, on_hand, reserved FROM stock
         WHERE sku = ANY($1::text[])
         ORDER BY sku
         FOR UPDATE`,
        [skus],
      );
      return new Map(
        locked.rows.map((row) => [
          row.sku,
          { sku: row.sku, onHand: row.on_hand, reserved: row.reserved },
        ]),
      );
    },

    async updateStock(counts) {
      await client.query(
        `UPDATE stock
         SET on_hand = count.on_hand, reserved = count.reserved, updated_at = now()
         FROM unnest($1::text[], $2::int[], $3::int[]) AS count(sku, on_hand, reserved)
         WHERE stock.sku = count.sku`,
        [
          counts.map(({ sku }) => sku),
          counts.map(({ onHand }) => onHand),
          counts.map(({ reserved }) => reserved),
        ],
      );
    },

    addToOutbox(stockChanges) {
      events.push(...stockChanges.map((event) => encodeEvent(STOCK_CHANGED, event)));
    },

    recordInboxMessages(consumer, messageIds) {
      return recordInboxMessages(client, consumer, messageIds);
    },

    forgetInboxMessages(consumer, messageIds) {
      return forgetInboxMessages(client, consumer, messageIds);
    },
  };
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
  const items = await client.query<OrderLine>(
    `SELECT sku, quantity FROM reservation_items WHERE order_id = $1`,
    [orderId],
  );
  return toReservation(row, items.rows);
}

function toReservation(row: ReservationRow, items: OrderLine[]): Reservation {
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
