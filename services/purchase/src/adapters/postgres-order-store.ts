import type { OrderLine } from '@switchboard/contracts';
import { writeOutboxEvents } from '@switchboard/outbox';
import {
  createGroupCommit,
  reportingTransientAsUnavailable,
  withTransaction,
} from '@switchboard/postgres';
import type pg from 'pg';
import { Histogram, type Registry } from 'prom-client';
import type { Order, PurchaseOutcome } from '../domain/order.js';
import type { KeyClaim, OrderStore } from '../domain/order-store.js';
import { orderConfirmedEvent } from './order-events.js';

export function createPostgresOrderStore(
  pool: pg.Pool,
  options: {
    /** Called after a commit that wrote outbox rows, so the relay publishes them at once. */
    onOutboxWritten?: () => void;
    /** Group commit of order saves (ADR 28); default: each order its own transaction. */
    batches?: { maxBatch: number; maxInFlight: number; registry: Registry };
  } = {},
): OrderStore {
  const batchSize =
    options.batches &&
    new Histogram({
      name: 'purchase_batch_size',
      help: 'Key claims, or order saves, that shared one statement or transaction and its commit (group commit).',
      labelNames: ['use_case'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers: [options.batches.registry],
    });
  // Claims, like saves, go in batches: one statement and one commit for all the keys claimed
  // while the claims before them were running.
  const keyClaims = createGroupCommit<WantedKey, KeyClaim>({
    run: async (batch) => {
      const claims = await claimKeys(
        pool,
        batch.map(({ request }) => request),
      );
      return batch.map(({ request }) => ({
        ok: true,
        value: claims.get(request.key) ?? { kind: 'in-progress' },
      }));
    },
    maxBatch: options.batches?.maxBatch ?? 1,
    maxInFlight: options.batches?.maxInFlight ?? 1,
    keyOf: ({ key }) => key,
    onBatch: (size) => batchSize?.observe({ use_case: 'key_claim' }, size),
  });

  // The orders saved while earlier saves are in their transactions go together in the next
  // one and share its commit. One key is never twice in a batch.
  const orderSaves = createGroupCommit<SavedOrder, void>({
    run: async (batch) => {
      const written = await saveOrders(
        pool,
        batch.map(({ request }) => request),
      );
      if (written > 0) options.onOutboxWritten?.();
      return batch.map(() => ({ ok: true, value: undefined }));
    },
    maxBatch: options.batches?.maxBatch ?? 1,
    maxInFlight: options.batches?.maxInFlight ?? 1,
    keyOf: ({ key }) => key,
    onBatch: (size) => batchSize?.observe({ use_case: 'order_save' }, size),
  });

  // A database that is only busy or restarting answers 503 UNAVAILABLE, never 500.
  return reportingTransientAsUnavailable<OrderStore>({
    claimKey(key, fingerprint, newOrderId, lockMs) {
      return keyClaims.submit({ key, fingerprint, newOrderId, lockMs });
    },

    saveOrder(key, order) {
      return orderSaves.submit({ key, order });
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

interface WantedKey {
  key: string;
  fingerprint: string;
  newOrderId: string;
  lockMs: number;
}

/**
 * Claims each key: inserts it, or takes over one whose owner's lock ran out (it crashed or
 * hung) if the request is the same. A key this cannot take is read to say why (a stored
 * answer, another body, a request still running). A few rounds at most: a key we lost to can
 * be released between the two statements.
 */
async function claimKeys(pool: pg.Pool, wanted: WantedKey[]): Promise<Map<string, KeyClaim>> {
  const claims = new Map<string, KeyClaim>();
  let pending = wanted;
  for (let attempt = 0; attempt < 3 && pending.length > 0; attempt++) {
    const claimed = await pool.query<{ key: string; order_id: string }>(
      `INSERT INTO idempotency_keys (key, fingerprint, order_id, state, locked_until)
       SELECT key, fingerprint, order_id, 'IN_PROGRESS', now() + lock_ms * interval '1 millisecond'
       FROM unnest($1::text[], $2::text[], $3::uuid[], $4::int[])
         AS wanted(key, fingerprint, order_id, lock_ms)
       ORDER BY key
       ON CONFLICT (key) DO UPDATE
         SET locked_until = EXCLUDED.locked_until, updated_at = now()
         WHERE idempotency_keys.state = 'IN_PROGRESS'
           AND idempotency_keys.locked_until <= now()
           AND idempotency_keys.fingerprint = EXCLUDED.fingerprint
       RETURNING key, order_id`,
      [
        pending.map(({ key }) => key),
        pending.map(({ fingerprint }) => fingerprint),
        pending.map(({ newOrderId }) => newOrderId),
        pending.map(({ lockMs }) => lockMs),
      ],
    );
    for (const row of claimed.rows) claims.set(row.key, { kind: 'owned', orderId: row.order_id });

    const taken = pending.filter(({ key }) => !claims.has(key));
    if (taken.length === 0) break;
    const existing = await pool.query<{
      key: string;
      fingerprint: string;
      state: string;
      outcome: PurchaseOutcome | null;
    }>(
      'SELECT key, fingerprint, state, outcome FROM idempotency_keys WHERE key = ANY($1::text[])',
      [taken.map(({ key }) => key)],
    );
    const rows = new Map(existing.rows.map((row) => [row.key, row]));
    for (const { key, fingerprint } of taken) {
      const row = rows.get(key);
      if (!row) continue; // released meanwhile: the next round claims it
      if (row.fingerprint !== fingerprint) claims.set(key, { kind: 'mismatch' });
      else if (row.state === 'COMPLETED' && row.outcome)
        claims.set(key, { kind: 'completed', outcome: row.outcome });
      else claims.set(key, { kind: 'in-progress' });
    }
    pending = taken.filter(({ key }) => !claims.has(key));
  }
  return claims;
}

interface SavedOrder {
  key: string;
  order: Order;
}

/**
 * Stores the orders, their items, their OrderConfirmed events (the transactional outbox) and
 * their keys' answers in one transaction, and returns how many orders were new. An order
 * stored before (a request that took over an expired key stores the same order) already has
 * its items and its event: ON CONFLICT keeps it as it is.
 */
async function saveOrders(pool: pg.Pool, saves: SavedOrder[]): Promise<number> {
  const orders = saves.map(({ order }) => order);
  const items = orders.flatMap(({ orderId, items: lines }) =>
    lines.map(({ sku, quantity }, index) => ({ orderId, sku, quantity, position: index + 1 })),
  );
  return withTransaction(pool, async (client) => {
    const inserted = await client.query<{ id: string }>(
      `INSERT INTO orders (id, customer_id, status, created_at)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[])
       ON CONFLICT (id) DO NOTHING
       RETURNING id`,
      [
        orders.map(({ orderId }) => orderId),
        orders.map(({ customerId }) => customerId),
        orders.map(({ status }) => status),
        orders.map(({ createdAt }) => createdAt),
      ],
    );
    await client.query(
      `INSERT INTO order_items (order_id, sku, quantity, position)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::int[])
       ON CONFLICT DO NOTHING`,
      [
        items.map(({ orderId }) => orderId),
        items.map(({ sku }) => sku),
        items.map(({ quantity }) => quantity),
        items.map(({ position }) => position),
      ],
    );
    const written = new Set(inserted.rows.map(({ id }) => id));
    await writeOutboxEvents(
      client,
      orders.filter(({ orderId }) => written.has(orderId)).map(orderConfirmedEvent),
    );
    await client.query(
      `UPDATE idempotency_keys
       SET state = 'COMPLETED', outcome = answer.outcome, locked_until = NULL, updated_at = now()
       FROM unnest($1::text[], $2::uuid[], $3::json[]) AS answer(key, order_id, outcome)
       WHERE idempotency_keys.key = answer.key AND idempotency_keys.order_id = answer.order_id`,
      [
        saves.map(({ key }) => key),
        saves.map(({ order }) => order.orderId),
        saves.map(({ order }) => JSON.stringify({ ok: true, order })),
      ],
    );
    return written.size;
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
