/**
 * The durable floor of bench:purchase: the transactions of a purchase's request path, with the
 * same SQL, isolation (Postgres' default, READ COMMITTED) and durability (synchronous commit)
 * as the services, issued directly through pg by this one process: no HTTP, no gRPC, no NATS,
 * no outbox. Whatever the services do above the database, a purchase cannot be cheaper than
 * this on the same Postgres.
 *
 * One purchase is three commits, as in purchase and inventory:
 * 1. purchase claims the Idempotency-Key (one statement);
 * 2. inventory reserves: the reservation row, the stock row locked, changed, the items;
 * 3. purchase saves the order, its items and the key's answer.
 * The statements are copied from services/purchase/src/adapters/postgres-order-store.ts and
 * services/inventory/src/adapters/inventory-repository.ts, without their outbox rows.
 */
import { randomUUID } from 'node:crypto';
import { withTransaction } from '@switchboard/postgres';
import pg from 'pg';

export interface DurableFloor {
  /** One purchase of one unit of `sku`, as the services would make it. */
  purchase(sku: string): Promise<void>;
  close(): Promise<void>;
}

export function durableFloor(options: {
  purchaseUrl: string;
  inventoryUrl: string;
  /** The pool sizes of the services (their DB_POOL_MAX). */
  poolMax: number;
  runId: string;
}): DurableFloor {
  const purchaseDb = new pg.Pool({ connectionString: options.purchaseUrl, max: options.poolMax });
  const inventoryDb = new pg.Pool({ connectionString: options.inventoryUrl, max: options.poolMax });
  let sequence = 0;

  return {
    async purchase(sku) {
      const key = `floor-${options.runId}-${(sequence += 1)}`;
      const orderId = randomUUID();
      const items = [{ sku, quantity: 1 }];
      await purchaseDb.query(
        `INSERT INTO idempotency_keys (key, fingerprint, order_id, state, locked_until)
         VALUES ($1, $2, $3, 'IN_PROGRESS', now() + $4 * interval '1 millisecond')
         ON CONFLICT (key) DO UPDATE
           SET locked_until = EXCLUDED.locked_until, updated_at = now()
           WHERE idempotency_keys.state = 'IN_PROGRESS'
             AND idempotency_keys.locked_until <= now()
             AND idempotency_keys.fingerprint = EXCLUDED.fingerprint
         RETURNING order_id`,
        [key, 'floor', orderId, 20_000],
      );
      await withTransaction(inventoryDb, async (client) => {
        await client.query(
          `INSERT INTO reservations (order_id, state, expires_at)
           VALUES ($1, 'RESERVED', now() + make_interval(secs => $2))
           ON CONFLICT (order_id) DO NOTHING
           RETURNING order_id, state, expires_at`,
          [orderId, 900],
        );
        const locked = await client.query<{ sku: string; on_hand: number; reserved: number }>(
          `SELECT sku, on_hand, reserved FROM stock WHERE sku = ANY($1::text[]) ORDER BY sku
           FOR UPDATE`,
          [[sku]],
        );
        const row = locked.rows[0];
        if (!row || row.on_hand - row.reserved < 1) throw new Error(`no stock of ${sku}`);
        await client.query(
          `UPDATE stock
           SET on_hand = count.on_hand, reserved = count.reserved, updated_at = now()
           FROM unnest($1::text[], $2::int[], $3::int[]) AS count(sku, on_hand, reserved)
           WHERE stock.sku = count.sku`,
          [[sku], [row.on_hand], [row.reserved + 1]],
        );
        await client.query(
          `INSERT INTO reservation_items (order_id, sku, quantity)
           SELECT $1, item.sku, item.quantity FROM unnest($2::text[], $3::int[]) AS item(sku, quantity)`,
          [orderId, [sku], [1]],
        );
      });
      await withTransaction(purchaseDb, async (client) => {
        await client.query(
          `INSERT INTO orders (id, customer_id, status, created_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (id) DO NOTHING`,
          [orderId, 'c-floor', 'CONFIRMED', new Date().toISOString()],
        );
        await client.query(
          `INSERT INTO order_items (order_id, sku, quantity, position)
           SELECT $1, sku, quantity, position
           FROM unnest($2::text[], $3::int[]) WITH ORDINALITY AS item(sku, quantity, position)
           ON CONFLICT DO NOTHING`,
          [orderId, [sku], [1]],
        );
        await client.query(
          `UPDATE idempotency_keys
           SET state = 'COMPLETED', outcome = $3, locked_until = NULL, updated_at = now()
           WHERE key = $1 AND order_id = $2`,
          [key, orderId, JSON.stringify({ ok: true, order: { orderId, items } })],
        );
      });
    },
    async close() {
      await Promise.all([purchaseDb.end(), inventoryDb.end()]);
    },
  };
}
