import type pg from 'pg';
import type { InventoryRepository } from '../domain/inventory.js';
import { reservationNotFound } from '../domain/inventory-errors.js';
import {
  answerRepeatedReserve,
  bySku,
  checkAvailability,
  releaseAction,
  sortItems,
  type StockLevel,
} from '../domain/stock-rules.js';
import type { Item, Reservation, ReservationState, Stock, WorkOptions } from '../domain/types.js';

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
 * behind each other instead of deadlocking, and no two can sell the same unit.
 */
export function createInventoryRepository(pool: pg.Pool): InventoryRepository {
  async function inTransaction<T>(
    options: WorkOptions | undefined,
    work: (client: pg.PoolClient) => Promise<T>,
  ): Promise<T> {
    // Under load a call may wait for a connection longer than its caller waits for it.
    options?.signal?.throwIfAborted();
    const client = await pool.connect();
    let broken = false;
    try {
      options?.signal?.throwIfAborted();
      await client.query('BEGIN');
      try {
        const result = await work(client);
        // A caller who gave up meanwhile (say, while we waited for a row lock) was told the
        // call failed: roll back rather than hold stock for it.
        options?.signal?.throwIfAborted();
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw error;
      }
    } finally {
      // A connection that cannot even roll back is closed rather than handed out again.
      client.release(broken);
    }
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
      return inTransaction(options, async (client) => {
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
        await client.query(
          `UPDATE stock SET reserved = stock.reserved + item.quantity, updated_at = now()
           FROM unnest($1::text[], $2::int[]) AS item(sku, quantity)
           WHERE stock.sku = item.sku`,
          [skus, items.map(({ quantity }) => quantity)],
        );
        await client.query(
          `INSERT INTO reservation_items (order_id, sku, quantity)
           SELECT $1, item.sku, item.quantity FROM unnest($2::text[], $3::int[]) AS item(sku, quantity)`,
          [orderId, skus, items.map(({ quantity }) => quantity)],
        );
        return toReservation(row, items);
      });
    },

    release(orderId, options) {
      return inTransaction(options, async (client) => {
        // The row lock makes a concurrent Release (or a commit) of the same order wait.
        const stored = await readReservation(client, orderId, { lock: true });
        if (!stored) throw reservationNotFound(orderId);
        if (releaseAction(stored) === 'unchanged') return stored;

        const skus = stored.items.map(({ sku }) => sku);
        await lockStock(client, skus);
        await client.query(
          `UPDATE stock SET reserved = stock.reserved - item.quantity, updated_at = now()
           FROM unnest($1::text[], $2::int[]) AS item(sku, quantity)
           WHERE stock.sku = item.sku`,
          [skus, stored.items.map(({ quantity }) => quantity)],
        );
        await client.query(
          `UPDATE reservations SET state = 'RELEASED', updated_at = now() WHERE order_id = $1`,
          [orderId],
        );
        return { ...stored, state: 'RELEASED' };
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
