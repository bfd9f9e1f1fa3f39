import type { OrderLine } from '@switchboard/contracts';
import { writeOutboxEvents } from '@switchboard/outbox';
import { reportingTransientAsUnavailable, withTransaction } from '@switchboard/postgres';
import type pg from 'pg';
import type { Order, PurchaseOutcome } from '../domain/order.js';
import type { KeyClaim, OrderStore } from '../domain/order-store.js';
import { orderConfirmedEvent } from './order-events.js';

export function createPostgresOrderStore(
  pool: pg.Pool,
  options: {
    /** Called after a commit that wrote outbox rows, so the relay publishes them at once. */
    onOutboxWritten?: () => void;
  } = {},
): OrderStore {
  // A database that is only busy or restarting answers 503 UNAVAILABLE, never 500.
  return reportingTransientAsUnavailable<OrderStore>({
    async claimKey(key, fingerprint, newOrderId, lockMs) {
      // A few rounds at most: the row we lost to can be released between our two statements.
      for (let attempt = 0; attempt < 3; attempt++) {
        // Insert the key, or take over one whose owner's lock ran out (it crashed or hung).
        const claimed = await pool.query<{ order_id: string }>(
          `INSERT INTO idempotency_keys (key, fingerprint, order_id, state, locked_until)
           VALUES ($1, $2, $3, 'IN_PROGRESS', now() + $4 * interval '1 millisecond')
           ON CONFLICT (key) DO UPDATE
             SET locked_until = EXCLUDED.locked_until, updated_at = now()
             WHERE idempotency_keys.state = 'IN_PROGRESS'
               AND idempotency_keys.locked_until <= now()
               AND idempotency_keys.fingerprint = EXCLUDED.fingerprint
           RETURNING order_id`,
          [key, fingerprint, newOrderId, lockMs],
        );
        const owned = claimed.rows[0];
        if (owned) return { kind: 'owned', orderId: owned.order_id };

        const existing = await pool.query<{
          fingerprint: string;
          state: string;
          outcome: PurchaseOutcome | null;
        }>('SELECT fingerprint, state, outcome FROM idempotency_keys WHERE key = $1', [key]);
        const row = existing.rows[0];
        if (!row) continue;
        if (row.fingerprint !== fingerprint) return { kind: 'mismatch' };
        if (row.state === 'COMPLETED' && row.outcome)
          return { kind: 'completed', outcome: row.outcome };
        return { kind: 'in-progress' };
      }
      return { kind: 'in-progress' } satisfies KeyClaim;
    },

    async saveOrder(key, order) {
      const written = await withTransaction(pool, async (client) => {
        // ON CONFLICT: a request that took over an expired key may store the same order.
        const inserted = await client.query(
          `INSERT INTO orders (id, customer_id, status, created_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (id) DO NOTHING`,
          [order.orderId, order.customerId, order.status, order.createdAt],
        );
        await client.query(
          `INSERT INTO order_items (order_id, sku, quantity, position)
           SELECT $1, sku, quantity, position
           FROM unnest($2::text[], $3::int[]) WITH ORDINALITY AS item(sku, quantity, position)
           ON CONFLICT DO NOTHING`,
          [
            order.orderId,
            order.items.map((item) => item.sku),
            order.items.map((item) => item.quantity),
          ],
        );
        // The transactional outbox: the order's event commits with the order or not at all.
        // An order stored before already has its event.
        const written = inserted.rowCount === 1;
        if (written) await writeOutboxEvents(client, [orderConfirmedEvent(order)]);
        await completeKey(client, key, order.orderId, { ok: true, order });
        return written;
      });
      if (written) options.onOutboxWritten?.();
    },

    async saveRefusal(key, orderId, outcome) {
      await completeKey(pool, key, orderId, outcome);
    },

    async deleteKey(key, orderId) {
      await pool.query(
        `DELETE FROM idempotency_keys WHERE key = $1 AND order_id = $2 AND state = 'IN_PROGRESS'`,
        [key, orderId],
      );
    },

    async findOrder(orderId) {
      const result = await pool.query<{
        id: string;
        customer_id: string;
        created_at: Date;
        items: OrderLine[];
      }>(
        `SELECT o.id, o.customer_id, o.created_at,
                json_agg(json_build_object('sku', i.sku, 'quantity', i.quantity) ORDER BY i.position, i.sku) AS items
         FROM orders o JOIN order_items i ON i.order_id = o.id
         WHERE o.id = $1
         GROUP BY o.id`,
        [orderId],
      );
      const row = result.rows[0];
      if (!row) return undefined;
      const order: Order = {
        orderId: row.id,
        customerId: row.customer_id,
        status: 'CONFIRMED',
        items: row.items,
        createdAt: row.created_at.toISOString(),
      };
      return order;
    },
  });
}

async function completeKey(
  db: Pick<pg.Pool, 'query'>,
  key: string,
  orderId: string,
  outcome: PurchaseOutcome,
): Promise<void> {
  await db.query(
    `UPDATE idempotency_keys
     SET state = 'COMPLETED', outcome = $3, locked_until = NULL, updated_at = now()
     WHERE key = $1 AND order_id = $2`,
    [key, orderId, JSON.stringify(outcome)],
  );
}
