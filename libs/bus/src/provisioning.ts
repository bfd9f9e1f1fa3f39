import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { millis } from '@nats-io/transport-node';
import type { Bus } from './connection.js';
import { whileJetStreamUnavailable } from './jetstream-unavailable.js';
import {
  durableConsumerConfig,
  type DurableConsumerDefinition,
  type StreamDefinition,
} from './stream-definitions.js';

/** JetStream's error code for "stream name already in use with a different configuration". */
const STREAM_NAME_IN_USE = 10058;

function hasCode(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code;
}

/** JetStream's answer when the stream named does not exist (yet). */
export function isStreamNotFound(error: unknown): boolean {
  return hasCode(error, JetStreamApiCodes.StreamNotFound);
}

/**
 * Creates each stream, or brings an existing one to this config. Safe to run at every start
 * and from several replicas at once: the one that loses the race to create updates instead.
 * A service ensures the streams it owns: those it publishes to (ADR 6). `replicas` is how many
 * servers of a JetStream cluster keep a copy of each (1 on a single server, 3 on a cluster of
 * three: one node may then be lost without losing a message, ADR 25); an existing stream is
 * moved to it. While JetStream cannot answer yet, it asks again, for `patienceMs` at most
 * (JETSTREAM_START_PATIENCE_MS by default).
 */
export async function ensureStreams(
  bus: Bus,
  streams: readonly StreamDefinition[],
  options: { replicas?: number; patienceMs?: number } = {},
): Promise<void> {
  for (const definition of streams) {
    const stream = { ...definition, num_replicas: options.replicas ?? definition.num_replicas };
    // A cluster still forming (or a loaded server) may not answer yet: ask again (ADR 25).
    await whileJetStreamUnavailable(
      bus,
      `stream ${stream.name}`,
      () => ensureStream(bus, stream),
      options.patienceMs,
    );
  }
}

/** Creates one stream, or brings an existing one to this config. */
async function ensureStream(bus: Bus, stream: StreamDefinition): Promise<void> {
  const { name } = stream;
  const exists = await bus.manager.streams.info(name).then(
    () => true,
    (error: unknown) => {
      if (hasCode(error, JetStreamApiCodes.StreamNotFound)) return false;
      throw error;
    },
  );
  if (!exists) {
    try {
      await bus.manager.streams.add(stream);
      bus.logger.info({ stream: name }, 'stream created');
      return;
    } catch (error) {
      if (!hasCode(error, STREAM_NAME_IN_USE)) throw error;
    }
  }
  await bus.manager.streams.update(name, stream);
  bus.logger.debug({ stream: name }, 'stream up to date');
}

/**
 * Creates a durable pull consumer, or updates the settings JetStream lets change on an
 * existing one (ack wait, pending limit, description). Its filter subject cannot change in
 * place on nats-server 2.9: a new filter needs a new durable name.
 */
export async function ensureDurableConsumer(
  bus: Bus,
  definition: DurableConsumerDefinition,
): Promise<void> {
  await whileJetStreamUnavailable(bus, `consumer ${definition.stream}/${definition.name}`, () =>
    ensureDurableConsumerOnce(bus, definition),
  );
}

async function ensureDurableConsumerOnce(
  bus: Bus,
  definition: DurableConsumerDefinition,
): Promise<void> {
  const config = durableConsumerConfig(definition);
  const { stream, name } = definition;
  const existing = await bus.manager.consumers.info(stream, name).catch((error: unknown) => {
    if (hasCode(error, JetStreamApiCodes.ConsumerNotFound)) return undefined;
    throw error;
  });
  if (!existing) {
    await bus.manager.consumers.add(stream, config);
    bus.logger.info({ stream, consumer: name }, 'durable consumer created');
    return;
  }
  if (existing.config.filter_subject !== config.filter_subject) {
    throw new Error(
      `consumer ${stream}/${name} filters ${existing.config.filter_subject ?? '(nothing)'}, not ${config.filter_subject}: give the new filter a new durable name`,
    );
  }
  await bus.manager.consumers.update(stream, name, {
    description: config.description,
    ack_wait: config.ack_wait,
    max_deliver: config.max_deliver,
    max_ack_pending: config.max_ack_pending,
  });
  bus.logger.debug({ stream, consumer: name }, 'durable consumer up to date');
}

/**
 * Settings that must agree: a publisher that retries an event whose ack it lost must do so
 * inside the stream's duplicate window, else JetStream stores the event twice. Call it at
 * start with the longest time between two attempts to publish the same event.
 */
export async function assertDuplicateWindowCovers(
  bus: Bus,
  stream: string,
  retryHorizonMs: number,
): Promise<void> {
  const info = await bus.manager.streams.info(stream);
  const windowMs = millis(info.config.duplicate_window);
  if (windowMs < retryHorizonMs) {
    throw new Error(
      `stream ${stream} drops duplicates for ${windowMs} ms only, but its publisher may retry after ${retryHorizonMs} ms: raise duplicate_window or lower the retry backoff`,
    );
  }
}
