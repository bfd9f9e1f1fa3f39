import type { EncodedEvent } from '@switchboard/bus';
import { createPeriodicWorker, type Pause } from '@switchboard/lifecycle';
import { withTransaction } from '@switchboard/postgres';
import { backoff } from '@switchboard/resilience';
import type pg from 'pg';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';

export interface OutboxRelayOptions {
  pool: pg.Pool;
  /** Publishes one event; resolves only once the broker has stored it (JetStream's ack). */
  publish(event: EncodedEvent): Promise<void>;
  logger: Logger;
  registry: Registry;
  /** Rows taken per round; default 100. */
  batchSize?: number;
  /** How often an idle relay looks for rows that `wake()` did not announce; default 500 ms. */
  pollIntervalMs?: number;
  /** The pause after a failed publish; it doubles with each failure in a row. Default 200 ms. */
  retryDelayMs?: number;
  /** The longest pause between two attempts; default 10 000 ms. */
  maxRetryDelayMs?: number;
}

export interface OutboxRelay {
  /** Starts relaying in the background. */
  start(): void;
  /** Says rows were just committed, so an idle relay goes now instead of at its next poll. */
  wake(): void;
  /** Finishes the round in progress and stops; no round and no pause follow it. */
  stop(): Promise<void>;
}

interface OutboxRow {
  id: string;
  event_id: string;
  subject: string;
  event_type: string;
  payload: Buffer;
  traceparent: string | null;
}

/**
 * Publishes the rows of the outbox table in the order they were written, and marks a row
 * published only after the broker acknowledged it. Each round locks its rows with
 * `FOR UPDATE SKIP LOCKED`, so several replicas relay side by side without publishing a row
 * twice at once and without waiting on each other. A failed publish (broker down) ends the
 * round, keeps the row unpublished and backs off with jitter; nothing is lost while the
 * broker is away. A row published whose mark did not commit is published again: its event id
 * is the `Nats-Msg-Id`, so the stream drops the copy.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { pool, logger, registry } = options;
  const batchSize = options.batchSize ?? 100;
  const pollIntervalMs = options.pollIntervalMs ?? 500;
  const retryDelayMs = options.retryDelayMs ?? 200;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 10_000;
  const metrics = relayMetrics(registry, pool, logger);

  async function relayRound(): Promise<{ published: number; failed: boolean }> {
    const { publishedIds, failure } = await withTransaction(pool, async (client) => {
      const { rows } = await client.query<OutboxRow>(
        `SELECT id, event_id, subject, event_type, payload, traceparent FROM outbox
         WHERE published_at IS NULL
         ORDER BY id
         LIMIT $1
         FOR UPDATE SKIP LOCKED`,
        [batchSize],
      );
      const publishedIds: string[] = [];
      let failure: { row: OutboxRow; error: unknown } | undefined;
      for (const row of rows) {
        try {
          await options.publish({
            eventId: row.event_id,
            subject: row.subject,
            type: row.event_type,
            data: new Uint8Array(row.payload),
            traceparent: row.traceparent ?? undefined,
          });
          publishedIds.push(row.id);
        } catch (error) {
          // The rows behind it wait too: the broker is most likely away, and order is kept.
          failure = { row, error };
          break;
        }
      }
      if (publishedIds.length > 0) {
        await client.query(`UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])`, [
          publishedIds,
        ]);
      }
      if (failure) {
        await client.query(
          `UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1`,
          [failure.row.id, messageOf(failure.error)],
        );
      }
      return { publishedIds, failure };
    });
    const published = publishedIds.length;
    metrics.published.inc(published);
    if (failure) {
      metrics.failures.inc();
      logger.warn(
        { err: failure.error, eventId: failure.row.event_id, subject: failure.row.subject },
        'outbox publish failed; the event stays in the outbox and is retried',
      );
    }
    return { published, failed: failure !== undefined };
  }

  let failuresInARow = 0;
  const worker = createPeriodicWorker({
    name: 'outbox relay',
    logger,
    async round() {
      const outcome = await relayRound();
      if (outcome.failed) return failed();
      failuresInARow = 0;
      // A full batch means more rows are waiting: go on at once. An idle relay polls, and
      // wake() cuts the poll short.
      return { ms: outcome.published < batchSize ? pollIntervalMs : 0 };
    },
    // The database itself failed; the rows are untouched and come in a later round.
    onError: () => failed(),
  });

  /** After a failure the backoff holds whatever new rows announce: they would fail too. */
  function failed(): Pause {
    failuresInARow += 1;
    return {
      ms: backoff(failuresInARow, { initialMs: retryDelayMs, maxMs: maxRetryDelayMs }),
      wakeable: false,
    };
  }

  return {
    start: () => worker.start(),
    wake: () => worker.wake(),
    stop: () => worker.stop(),
  };
}

function messageOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 1000);
}

/** Backlog gauges read the table when Prometheus scrapes, so they hold for every replica. */
function relayMetrics(registry: Registry, pool: pg.Pool, logger: Logger) {
  async function pendingStats(): Promise<{ pending: number; oldestAgeSeconds: number }> {
    const { rows } = await pool.query<{ pending: number; oldest_age_seconds: number | null }>(
      `SELECT count(*)::int AS pending,
              extract(epoch FROM now() - min(created_at))::float8 AS oldest_age_seconds
       FROM outbox WHERE published_at IS NULL`,
    );
    return { pending: rows[0]?.pending ?? 0, oldestAgeSeconds: rows[0]?.oldest_age_seconds ?? 0 };
  }
  new Gauge({
    name: 'outbox_pending_events',
    help: 'Events written to the outbox and not yet published (the backlog).',
    registers: [registry],
    async collect() {
      try {
        this.set((await pendingStats()).pending);
      } catch (error) {
        logger.warn({ err: error }, 'could not read the outbox backlog');
      }
    },
  });
  new Gauge({
    name: 'outbox_oldest_pending_age_seconds',
    help: 'Age of the oldest event not yet published; 0 when the outbox is drained.',
    registers: [registry],
    async collect() {
      try {
        this.set((await pendingStats()).oldestAgeSeconds);
      } catch (error) {
        logger.warn({ err: error }, 'could not read the outbox backlog');
      }
    },
  });
  return {
    published: new Counter({
      name: 'outbox_published_total',
      help: 'Events the relay published and JetStream acknowledged.',
      registers: [registry],
    }),
    failures: new Counter({
      name: 'outbox_publish_failures_total',
      help: 'Publish attempts of the relay that failed (broker away, no ack in time).',
      registers: [registry],
    }),
  };
}
