import { setTimeout as sleep } from 'node:timers/promises';
import { backoff } from '@switchboard/resilience';
import type { Bus } from './connection.js';
import { startEventConsumer, type EventConsumer, type EventConsumerOptions } from './consumer.js';
import type { Event } from './event-type.js';
import { ensureDurableConsumer, isStreamNotFound } from './provisioning.js';
import type { DurableConsumerDefinition } from './stream-definitions.js';

/** How often a consumer looks again for a stream its producer has not created yet. */
const STREAM_WAIT = { initialMs: 500, maxMs: 5_000 };

/**
 * Provisions a durable consumer and consumes from it: for the service that owns the consumer,
 * while the stream belongs to its producer (ADR 6). The producer may start later (compose
 * starts purchase after inventory is ready), so a stream that does not exist yet is waited
 * for in the background, with backoff, and the start goes on: the messages wait in the stream
 * once it exists. Any other provisioning error (a changed filter subject) fails the start.
 */
export async function startDurableEventConsumer<T extends Event>(
  bus: Bus,
  durable: DurableConsumerDefinition,
  options: Omit<EventConsumerOptions<T>, 'consumer'>,
): Promise<EventConsumer> {
  const logger = bus.logger.child({ stream: durable.stream, consumer: durable.name });
  const start = async () => {
    await ensureDurableConsumer(bus, durable);
    return startEventConsumer(bus, { ...options, consumer: durable.name });
  };
  try {
    return await start();
  } catch (error) {
    if (!isStreamNotFound(error)) throw error;
  }

  logger.warn('the stream does not exist yet; waiting for its producer to create it');
  const stopping = new AbortController();
  const started = (async () => {
    for (let retry = 1; ; retry += 1) {
      // Rejects at once when stop() aborts: nothing was started.
      await sleep(backoff(retry, STREAM_WAIT), undefined, { signal: stopping.signal });
      try {
        const consumer = await start();
        logger.info('the stream exists now; consuming');
        return consumer;
      } catch (error) {
        if (!isStreamNotFound(error)) {
          logger.error({ err: error }, 'could not provision the consumer; trying again');
        }
      }
    }
  })();
  // stop() is the only one to await it; this keeps an abort from being an unhandled rejection.
  started.catch(() => {});

  return {
    async stop() {
      stopping.abort();
      const consumer = await started.catch(() => undefined);
      await consumer?.stop();
    },
  };
}
