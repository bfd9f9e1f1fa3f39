import type { Bus } from '@switchboard/bus';
import type { Lifecycle } from '@switchboard/lifecycle';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createJetStreamOutboxRelay } from './jetstream-outbox-relay.js';
import type { OutboxRelay } from './outbox-relay.js';
import { createOutboxRetention } from './outbox-retention.js';

/**
 * A service's outbox, wired the same way in every service: the relay publishing the rows to
 * the service's stream (checked for its duplicate window) and the retention deleting what is
 * no longer needed, both started, their stops registered right after. Returns the relay, for
 * `wake()` after a commit that wrote rows.
 */
export async function startEventOutbox(options: {
  bus: Bus;
  pool: pg.Pool;
  /** The stream the service's events go to. */
  stream: string;
  logger: Logger;
  registry: Registry;
  /** OUTBOX_POLL_INTERVAL_MS. */
  pollIntervalMs: number;
  /** Published rows are deleted once older: OUTBOX_RETENTION_HOURS. */
  outboxRetentionMs: number;
  /** Inbox rows are deleted once older (INBOX_RETENTION_HOURS); leave out without an inbox. */
  inboxRetentionMs?: number;
  /** RETENTION_INTERVAL_MS. */
  retentionIntervalMs: number;
  lifecycle: Pick<Lifecycle, 'onStop'>;
}): Promise<OutboxRelay> {
  const { lifecycle } = options;
  const relay = await createJetStreamOutboxRelay(options);
  relay.start();
  await lifecycle.onStop('outbox relay', () => relay.stop());
  const retention = createOutboxRetention({
    pool: options.pool,
    logger: options.logger.child({ component: 'outbox-retention' }),
    registry: options.registry,
    outboxRetentionMs: options.outboxRetentionMs,
    inboxRetentionMs: options.inboxRetentionMs,
    intervalMs: options.retentionIntervalMs,
  });
  retention.start();
  await lifecycle.onStop('outbox retention', () => retention.stop());
  return relay;
}
