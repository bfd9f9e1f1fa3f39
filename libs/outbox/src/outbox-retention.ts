import { createPeriodicWorker } from '@switchboard/lifecycle';
import type pg from 'pg';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';

export interface OutboxRetentionOptions {
  pool: pg.Pool;
  logger: Logger;
  registry: Registry;
  /** Published outbox rows are deleted once `published_at` is older than this. */
  outboxRetentionMs: number;
  /**
   * Inbox rows are deleted once `received_at` is older than this; leave it out in a service
   * without an inbox. It must be at least the `max_age` of the streams the inbox consumes:
   * a message id forgotten while the stream can still deliver the message lets a redelivery
   * apply it twice (the services check this at start).
   */
  inboxRetentionMs?: number;
  /** The pause between two passes; default 300 000 ms (5 min). */
  intervalMs?: number;
  /** Rows deleted per statement; default 1000. */
  batchSize?: number;
}

export interface OutboxRetention {
  /** Starts deleting in the background: one pass now, then one every `intervalMs`. */
  start(): void;
  /** Runs one pass now, batch after batch until one is short; says how many rows went. */
  deleteExpired(): Promise<{ outbox: number; inbox: number }>;
  /** Finishes the batch in progress and stops. */
  stop(): Promise<void>;
}

type Table = 'outbox' | 'inbox';

/**
 * Each batch is one short statement: it picks up to `batchSize` expired rows, skipping rows
 * another transaction holds, and deletes them. No lock is held between batches, and replicas
 * running the same pass side by side delete disjoint rows without waiting on each other.
 * An unpublished outbox row is never picked, however old (`published_at < ...` is false for
 * NULL, and the condition says so too).
 */
const DELETE_BATCH: Record<Table, string> = {
  outbox: `DELETE FROM outbox WHERE id IN (
             SELECT id FROM outbox
             WHERE published_at IS NOT NULL
               AND published_at < now() - $1::bigint * interval '1 millisecond'
             LIMIT $2
             FOR UPDATE SKIP LOCKED)`,
  inbox: `DELETE FROM inbox WHERE (consumer, message_id) IN (
            SELECT consumer, message_id FROM inbox
            WHERE received_at < now() - $1::bigint * interval '1 millisecond'
            LIMIT $2
            FOR UPDATE SKIP LOCKED)`,
};

/**
 * Deletes what the outbox and the inbox no longer need, so neither table grows without
 * bound: published outbox rows past `outboxRetentionMs` (they are kept a while only for
 * operators) and inbox rows past `inboxRetentionMs`. A pass deletes in batches until a batch
 * comes back short, then waits `intervalMs`. A failure (database away) is logged, counted and
 * tried again at the next interval; it never ends the worker.
 */
export function createOutboxRetention(options: OutboxRetentionOptions): OutboxRetention {
  const { pool, logger, registry } = options;
  const intervalMs = options.intervalMs ?? 300_000;
  const batchSize = options.batchSize ?? 1000;
  const retentionMs: Partial<Record<Table, number>> = { outbox: options.outboxRetentionMs };
  if (options.inboxRetentionMs !== undefined) retentionMs.inbox = options.inboxRetentionMs;
  for (const [table, ms] of Object.entries(retentionMs)) {
    if (!Number.isSafeInteger(ms) || ms <= 0) {
      throw new RangeError(`the ${table} retention must be a positive number of ms (got ${ms})`);
    }
  }
  const metrics = retentionMetrics(registry);

  async function deleteTable(table: Table, ms: number, signal?: AbortSignal): Promise<number> {
    let deleted = 0;
    while (!signal?.aborted) {
      const result = await pool.query(DELETE_BATCH[table], [ms, batchSize]);
      const count = result.rowCount ?? 0;
      deleted += count;
      metrics.deleted.inc({ table }, count);
      // A short batch: nothing expired is left but rows another replica is deleting now.
      if (count < batchSize) break;
    }
    return deleted;
  }

  /** One pass; a stop (`signal`) ends it after the batch in progress. */
  async function deleteExpired(signal?: AbortSignal): Promise<{ outbox: number; inbox: number }> {
    const outbox = await deleteTable('outbox', options.outboxRetentionMs, signal);
    const inbox =
      options.inboxRetentionMs === undefined
        ? 0
        : await deleteTable('inbox', options.inboxRetentionMs, signal);
    if (outbox + inbox > 0) logger.info({ outbox, inbox }, 'expired outbox and inbox rows deleted');
    return { outbox, inbox };
  }

  const worker = createPeriodicWorker({
    name: 'outbox retention',
    logger,
    async round(signal) {
      await deleteExpired(signal);
      return { ms: intervalMs };
    },
    // Nothing is lost by waiting: the rows are still there at the next pass.
    onError() {
      metrics.failures.inc();
      return { ms: intervalMs };
    },
  });

  return {
    start() {
      logger.info(
        {
          outboxRetentionMs: options.outboxRetentionMs,
          inboxRetentionMs: options.inboxRetentionMs,
          intervalMs,
          batchSize,
        },
        'outbox retention settings',
      );
      worker.start();
    },
    deleteExpired: () => deleteExpired(),
    stop: () => worker.stop(),
  };
}

function retentionMetrics(registry: Registry) {
  return {
    deleted: new Counter({
      name: 'outbox_retention_deleted_total',
      help: 'Rows the retention worker of this process deleted: published outbox rows and inbox rows past their retention.',
      labelNames: ['table'] as const,
      registers: [registry],
    }),
    failures: new Counter({
      name: 'outbox_retention_failures_total',
      help: 'Retention passes that failed (database away); the next pass tries again.',
      registers: [registry],
    }),
  };
}
