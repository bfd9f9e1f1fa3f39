import type { OrderLine } from '@switchboard/contracts';
import type pg from 'pg';
import type { Order } from '../domain/order.js';

/** The latest orders, newest first: the live feed's snapshot after a start (ADR 21). */
export async function latestOrders(pool: pg.Pool, limit: number): Promise<Order[]> {
  const result = await pool.query<{
    id: string;
    customer_id: string;
    created_at: Date;
    items: OrderLine[];
  }>(
    `SELECT o.id, o.customer_id, o.created_at,
            json_agg(json_build_object('sku', i.sku, 'quantity', i.quantity) ORDER BY i.position, i.sku) AS items
     FROM (SELECT * FROM orders ORDER BY created_at DESC, id LIMIT $1) o
     JOIN order_items i ON i.order_id = o.id
     GROUP BY o.id, o.customer_id, o.created_at
     ORDER BY o.created_at DESC, o.id`,
    [limit],
  );
  return result.rows.map((row) => ({
    orderId: row.id,
    customerId: row.customer_id,
    status: 'CONFIRMED',
    items: row.items,
    createdAt: row.created_at.toISOString(),
  }));
}
