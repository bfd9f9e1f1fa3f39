/**
 * What bench:purchase reads from the databases: the commits so far, whether the reservations
 * of the 201s are committed yet (the consumer keeping up), the event lag of each, and the
 * checks that every 201 has its stored order and committed reservation and that the stock
 * adds up. Each of its own queries on a service's database is a commit there too: they are
 * counted, and left out of the commits it reports.
 */
import pg from 'pg';
import type { SeedProduct } from './purchase-topology.js';
import type { Created } from './overload-load.js';

export interface Verification {
  /** 201s whose order purchase has not stored. */
  missingOrders: number;
  /** 201s whose reservation inventory has not committed. */
  uncommitted: number;
  /** For each committed one: its reservation's commit time minus the 201's arrival, in ms. */
  lagsMs: number[];
}

export interface PurchaseChecks {
  /** Commits in the purchase and inventory databases so far (pg_stat_database.xact_commit). */
  commits(): Promise<number>;
  /** How many of these orders have a committed reservation. */
  committedCount(orderIds: string[]): Promise<number>;
  verify(created: Created[]): Promise<Verification>;
  /**
   * SKUs whose counts do not add up: on hand = seeded - committed quantities, and reserved =
   * the quantities of the reservations still held. Oversold or doubly applied stock shows here.
   */
  stockMismatches(products: SeedProduct[]): Promise<string[]>;
  close(): Promise<void>;
}

export async function connectChecks(urls: {
  /** Any other database of the server: pg_stat_database is read from there. */
  admin: string;
  purchase: string;
  inventory: string;
}): Promise<PurchaseChecks> {
  const admin = new pg.Client({ connectionString: urls.admin });
  const purchase = new pg.Client({ connectionString: urls.purchase });
  const inventory = new pg.Client({ connectionString: urls.inventory });
  await Promise.all([admin.connect(), purchase.connect(), inventory.connect()]);
  let ownCommits = 0;
  const query = <Row extends pg.QueryResultRow>(
    client: pg.Client,
    text: string,
    values: unknown[] = [],
  ) => {
    ownCommits += 1;
    return client.query<Row>(text, values);
  };
  const databases = [
    new URL(urls.purchase).pathname.slice(1),
    new URL(urls.inventory).pathname.slice(1),
  ];

  return {
    async commits() {
      const result = await admin.query<{ commits: string }>(
        'SELECT sum(xact_commit)::text AS commits FROM pg_stat_database WHERE datname = ANY($1)',
        [databases],
      );
      return Number(result.rows[0]?.commits ?? 0) - ownCommits;
    },

    async committedCount(orderIds) {
      const result = await query<{ count: string }>(
        inventory,
        `SELECT count(*)::text AS count FROM reservations
         WHERE order_id = ANY($1::text[]) AND state = 'COMMITTED'`,
        [orderIds],
      );
      return Number(result.rows[0]?.count ?? 0);
    },

    async verify(created) {
      const orderIds = created.map((each) => each.orderId);
      const stored = await query<{ id: string }>(
        purchase,
        'SELECT id FROM orders WHERE id = ANY($1::uuid[])',
        [orderIds],
      );
      // The commit time of the transaction that last wrote the row: the one that committed
      // the reservation (track_commit_timestamp is on, see purchase-topology.ts).
      const reservations = await query<{ order_id: string; committed_ms: number }>(
        inventory,
        `SELECT order_id, extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000 AS committed_ms
         FROM reservations WHERE order_id = ANY($1::text[]) AND state = 'COMMITTED'`,
        [orderIds],
      );
      const committedAt = new Map(
        reservations.rows.map((row) => [row.order_id, Number(row.committed_ms)]),
      );
      const lagsMs = created.flatMap(({ orderId, at }) => {
        const committed = committedAt.get(orderId);
        return committed === undefined ? [] : [committed - at];
      });
      return {
        missingOrders: created.length - stored.rows.length,
        uncommitted: created.length - committedAt.size,
        lagsMs,
      };
    },

    async stockMismatches(products) {
      const result = await query<{
        sku: string;
        on_hand: number;
        reserved: number;
        committed: number;
        held: number;
      }>(
        inventory,
        `SELECT s.sku, s.on_hand, s.reserved,
                coalesce(sum(i.quantity) FILTER (WHERE r.state = 'COMMITTED'), 0)::int AS committed,
                coalesce(sum(i.quantity) FILTER (WHERE r.state = 'RESERVED'), 0)::int AS held
         FROM stock s
         LEFT JOIN reservation_items i ON i.sku = s.sku
         LEFT JOIN reservations r ON r.order_id = i.order_id
         WHERE s.sku = ANY($1::text[])
         GROUP BY s.sku, s.on_hand, s.reserved`,
        [products.map(({ sku }) => sku)],
      );
      const seeded = new Map(products.map(({ sku, onHand }) => [sku, onHand]));
      return result.rows
        .filter(
          (row) =>
            row.on_hand !== (seeded.get(row.sku) ?? NaN) - row.committed ||
            row.reserved !== row.held,
        )
        .map((row) => row.sku);
    },

    async close() {
      await Promise.all([admin.end(), purchase.end(), inventory.end()]);
    },
  };
}
