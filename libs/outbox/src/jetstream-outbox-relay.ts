import { assertDuplicateWindowCovers, publishEncodedEvent, type Bus } from '@switchboard/bus';
import { longestBackoffMs } from '@switchboard/resilience';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createOutboxRelay, type OutboxRelay } from './outbox-relay.js';

/**
 * How long the relay waits for JetStream's ack before it counts the publish as failed. The
 * round's transaction sits idle meanwhile, so the services' idle-in-transaction timeout
 * must be longer (their config checks it).
 */
export const OUTBOX_PUBLISH_TIMEOUT_MS = 3_000;
/** The pause between two publish attempts of the same row grows to this, ±20 %. */
const MAX_RETRY_DELAY_MS = 10_000;

/**
 * The outbox relay of a service, publishing to JetStream over its bus. It first checks the
 * settings that must agree: a row whose ack was lost is published again within
 * OUTBOX_PUBLISH_TIMEOUT_MS and the longest backoff (15 s in all), which must be inside the stream's duplicate window
 * for JetStream to drop the copy. Returns the relay, not yet started.
 */
export async function createJetStreamOutboxRelay(options: {
  bus: Bus;
  pool: pg.Pool;
  /** The stream the service's events go to (checked for its duplicate window). */
  stream: string;
  logger: Logger;
  registry: Registry;
  pollIntervalMs?: number;
}): Promise<OutboxRelay> {
  const { bus } = options;
  const retryHorizonMs =
    OUTBOX_PUBLISH_TIMEOUT_MS + longestBackoffMs({ maxMs: MAX_RETRY_DELAY_MS });
  await assertDuplicateWindowCovers(bus, options.stream, retryHorizonMs);
  return createOutboxRelay({
    pool: options.pool,
    logger: options.logger.child({ component: 'outbox-relay' }),
    registry: options.registry,
    pollIntervalMs: options.pollIntervalMs,
    maxRetryDelayMs: MAX_RETRY_DELAY_MS,
    async publish(event) {
      // A duplicate ack is a success too: the stream has the event.
      await publishEncodedEvent(bus, event, { timeoutMs: OUTBOX_PUBLISH_TIMEOUT_MS });
    },
  });
}
