import { setTimeout as sleep } from 'node:timers/promises';
import { createMetricsRegistry } from '@switchboard/observability';
import { createDatabase, startPostgres, testLogger } from '@switchboard/testing';
import type { StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import pg from 'pg';
import type { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOutboxRetention, type OutboxRetentionOptions } from '../src/index.js';
import { OUTBOX_SCHEMA } from './support/schema.js';

const HOUR_MS = 60 * 60 * 1000;
const logger = testLogger('outbox-retention-test');
let postgres: StartedPostgreSqlContainer;
let pool: pg.Pool;
let databases = 0;

beforeAll(async () => {
  postgres = await startPostgres();
});

afterAll(async () => {
  await pool?.end();
  await postgres?.stop();
});

beforeEach(async () => {
  // Each test gets empty tables of its own.
  await pool?.end();
  databases += 1;
  pool = new pg.Pool({
    connectionString: await createDatabase(postgres, `retention_${databases}`),
    max: 8,
  });
  await pool.query(OUTBOX_SCHEMA);
});

/** Inserts outbox rows, published `publishedHoursAgo` hours ago, or unpublished for null. */
async function outboxRows(
  count: number,
  publishedHoursAgo: number | null,
  label: string,
): Promise<void> {
  await pool.query(
    `INSERT INTO outbox (event_id, subject, event_type, payload, created_at, published_at)
     SELECT gen_random_uuid(), $1, 'test.Event', '\\x00', now() - interval '90 days',
            now() - $2::float8 * interval '1 hour'
     FROM generate_series(1, $3)`,
    [label, publishedHoursAgo, count],
  );
}

async function inboxRows(count: number, receivedHoursAgo: number, label: string): Promise<void> {
  await pool.query(
    `INSERT INTO inbox (consumer, message_id, received_at)
     SELECT 'inventory-orders', $1 || '-' || n, now() - $2::float8 * interval '1 hour'
     FROM generate_series(1, $3) AS n`,
    [label, receivedHoursAgo, count],
  );
}

/** How many rows of each label (outbox subject, inbox message id prefix) are left. */
async function left(table: 'outbox' | 'inbox'): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ label: string; count: number }>(
    table === 'outbox'
      ? `SELECT subject AS label, count(*)::int AS count FROM outbox GROUP BY 1`
      : `SELECT split_part(message_id, '-', 1) AS label, count(*)::int AS count FROM inbox GROUP BY 1`,
  );
  return Object.fromEntries(rows.map((row) => [row.label, row.count]));
}

async function deleted(registry: Registry, table: 'outbox' | 'inbox'): Promise<number> {
  const metric = await registry.getSingleMetric('outbox_retention_deleted_total')?.get();
  return metric?.values.find((value) => value.labels.table === table)?.value ?? 0;
}

async function failures(registry: Registry): Promise<number> {
  return (
    (await registry.getSingleMetric('outbox_retention_failures_total')?.get())?.values[0]?.value ??
    0
  );
}

function retention(registry: Registry, options: Partial<OutboxRetentionOptions> = {}) {
  return createOutboxRetention({
    pool,
    logger,
    registry,
    outboxRetentionMs: 24 * HOUR_MS,
    inboxRetentionMs: 8 * 24 * HOUR_MS,
    intervalMs: 60_000,
    batchSize: 100,
    ...options,
  });
}

describe('the outbox retention', () => {
  it('deletes published rows past the retention, keeps recent ones and never an unpublished one', async () => {
    const registry = createMetricsRegistry({ service: 'retention-outbox' });
    await outboxRows(30, 25, 'old');
    await outboxRows(20, 23, 'recent');
    // Written 90 days ago and never published (the broker was away): kept however old.
    await outboxRows(10, null, 'unpublished');

    const result = await retention(registry).deleteExpired();

    expect(result).toEqual({ outbox: 30, inbox: 0 });
    expect(await left('outbox')).toEqual({ recent: 20, unpublished: 10 });
    expect(await deleted(registry, 'outbox')).toBe(30);
  });

  it('deletes inbox rows received before the retention and keeps newer ones', async () => {
    const registry = createMetricsRegistry({ service: 'retention-inbox' });
    await inboxRows(40, 8 * 24 + 1, 'old');
    await inboxRows(15, 8 * 24 - 1, 'recent');

    const result = await retention(registry).deleteExpired();

    expect(result).toEqual({ outbox: 0, inbox: 40 });
    expect(await left('inbox')).toEqual({ recent: 15 });
    expect(await deleted(registry, 'inbox')).toBe(40);
  });

  it('leaves the inbox alone when it is given no inbox retention', async () => {
    const registry = createMetricsRegistry({ service: 'retention-no-inbox' });
    await inboxRows(5, 365 * 24, 'old');

    const result = await retention(registry, { inboxRetentionMs: undefined }).deleteExpired();

    expect(result).toEqual({ outbox: 0, inbox: 0 });
    expect(await left('inbox')).toEqual({ old: 5 });
  });

  it('once started, deletes more rows than one batch in its first pass, batch after batch', async () => {
    const registry = createMetricsRegistry({ service: 'retention-batches' });
    await outboxRows(950, 48, 'old');
    await inboxRows(420, 24 * 30, 'old');
    // The next pass is a minute away: only the first can have deleted them.
    const worker = retention(registry, { batchSize: 100, intervalMs: 60_000 });

    worker.start();
    try {
      await expect.poll(() => left('outbox')).toEqual({});
      await expect.poll(() => left('inbox')).toEqual({});
      expect(await deleted(registry, 'outbox')).toBe(950);
      expect(await deleted(registry, 'inbox')).toBe(420);
    } finally {
      await worker.stop();
    }
  });

  it('run by two replicas at once, deletes every row once and without errors', async () => {
    const registries = [
      createMetricsRegistry({ service: 'retention-a' }),
      createMetricsRegistry({ service: 'retention-b' }),
    ];
    await outboxRows(3000, 48, 'old');
    await outboxRows(100, 1, 'recent');
    await inboxRows(2000, 24 * 30, 'old');
    const workers = registries.map((registry) => retention(registry, { batchSize: 50 }));

    const results = await Promise.all(workers.map((worker) => worker.deleteExpired()));

    expect(results[0]!.outbox + results[1]!.outbox).toBe(3000);
    expect(results[0]!.inbox + results[1]!.inbox).toBe(2000);
    expect(await left('outbox')).toEqual({ recent: 100 });
    expect(await left('inbox')).toEqual({});
    const counted = await Promise.all(
      registries.map(async (registry) => ({
        outbox: await deleted(registry, 'outbox'),
        inbox: await deleted(registry, 'inbox'),
        failures: await failures(registry),
      })),
    );
    expect(counted).toEqual([
      { ...results[0], failures: 0 },
      { ...results[1], failures: 0 },
    ]);
  });

  it('stop waits for the batch in progress, which completes, and no pass runs after it', async () => {
    const registry = createMetricsRegistry({ service: 'retention-stop' });
    await outboxRows(20, 48, 'old');
    // Another session holds the table, so the worker's first batch waits on its lock.
    const holder = await pool.connect();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE');
    const worker = retention(registry, { intervalMs: 100 });
    let stopped = false;
    let stopping: Promise<void> | undefined;
    try {
      worker.start();
      await expect
        .poll(async () => {
          const { rows } = await pool.query<{ waiting: number }>(
            `SELECT count(*)::int AS waiting FROM pg_stat_activity
             WHERE wait_event_type = 'Lock' AND query LIKE 'DELETE FROM outbox%'`,
          );
          return rows[0]!.waiting;
        })
        .toBe(1);

      stopping = worker.stop().then(() => {
        stopped = true;
      });
      await sleep(300);
      expect(stopped).toBe(false);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    await stopping;

    expect(stopped).toBe(true);
    expect(await left('outbox')).toEqual({});
    expect(await deleted(registry, 'outbox')).toBe(20);
    // Stopped: rows expiring now stay, though a pass was due every 100 ms.
    await outboxRows(5, 48, 'later');
    await sleep(400);
    expect(await left('outbox')).toEqual({ later: 5 });
  });

  it('when a pass fails, logs and counts it, keeps running and deletes at the next interval', async () => {
    const registry = createMetricsRegistry({ service: 'retention-failure' });
    await outboxRows(10, 48, 'old');
    // The table is away (as during a failed migration or a database outage): passes fail.
    await pool.query('ALTER TABLE outbox RENAME TO outbox_away');
    const worker = retention(registry, { intervalMs: 100 });
    worker.start();
    try {
      await expect.poll(() => failures(registry)).toBeGreaterThanOrEqual(2);
      await pool.query('ALTER TABLE outbox_away RENAME TO outbox');

      await expect.poll(() => left('outbox')).toEqual({});
      expect(await deleted(registry, 'outbox')).toBe(10);
    } finally {
      await worker.stop();
    }
  });

  it('refuses a retention that is not a positive number of milliseconds', () => {
    const registry = createMetricsRegistry({ service: 'retention-invalid' });
    expect(() => retention(registry, { outboxRetentionMs: 0 })).toThrow(
      'the outbox retention must be a positive number of ms (got 0)',
    );
    expect(() => retention(registry, { inboxRetentionMs: Number.NaN })).toThrow(
      'the inbox retention must be a positive number of ms (got NaN)',
    );
  });
});
