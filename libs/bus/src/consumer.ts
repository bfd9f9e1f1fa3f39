import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { backoff } from '@switchboard/resilience';
import type { Bus } from './connection.js';
import { deadLetterSubject } from './dead-letter-stream.js';
import { EVENT_TYPE_HEADER, type Event, type EventType } from './event-type.js';
import { consumerMetrics } from './metrics.js';
import { ROOT_CONTEXT, SpanKind, inSpan, linkTo } from '@switchboard/telemetry';
import { messagingAttributes, messagingSpanName, traceContextOf } from './trace-headers.js';

/** What a handler knows of the message that carried its event. */
export interface Delivery {
  subject: string;
  streamSequence: number;
  /** 1 the first time; more when the message comes again. */
  deliveryCount: number;
}

export interface EventConsumerOptions<T extends Event> {
  type: EventType<T>;
  /** The durable consumer's name; it must exist on the event type's stream. */
  consumer: string;
  /**
   * Does the work of one event. Resolving acknowledges the message; throwing makes it come
   * again after a backoff. It must be idempotent: a message can come more than once.
   */
  handle(event: T, delivery: Delivery): Promise<void> | void;
  /**
   * A failure that says nothing about the message (say, the database is down) is retried
   * for as long as it lasts and never dead-letters a message. Default: none is.
   */
  isTransient?(error: unknown): boolean;
  /** A message whose handling failed this many times goes to the dead-letter subject. */
  maxDeliveries: number;
  /** The backoff before the 2nd delivery; it doubles each time, up to maxRetryDelayMs. */
  retryDelayMs: number;
  maxRetryDelayMs?: number;
  /** Messages pulled ahead of the handler; default 32. */
  batchSize?: number;
  /**
   * Messages handled at once; default 1. More lets handlers whose work is batched (group
   * commit, ADR 28) share one transaction; each message is still acked after its own work.
   */
  concurrency?: number;
}

export interface EventConsumer {
  /** Stops pulling, lets the event being handled finish, and returns. */
  stop(): Promise<void>;
}

/** Headers a dead-lettered message carries, beside its original payload and type header. */
export const DEAD_LETTER_HEADERS = {
  reason: 'Switchboard-Dead-Letter-Reason',
  error: 'Switchboard-Dead-Letter-Error',
  subject: 'Switchboard-Original-Subject',
  stream: 'Switchboard-Original-Stream',
  sequence: 'Switchboard-Original-Sequence',
  deliveries: 'Switchboard-Deliveries',
} as const;

/**
 * Consumes one event type from a durable pull consumer, `concurrency` messages at a time:
 * - handled -> ack;
 * - failed -> nak with a jittered, doubling delay, so JetStream sends it again later;
 * - failed for the maxDeliveries-th time, or not even decodable -> published to
 *   `deadletter.<stream>.<consumer>` (with the reason in headers), then terminated, so one
 *   poison message never holds up the rest. If that publish fails it is retried instead:
 *   nothing is dropped.
 * Delivery counts, redeliveries, results and dead letters are counted in metrics.
 */
export async function startEventConsumer<T extends Event>(
  bus: Bus,
  options: EventConsumerOptions<T>,
): Promise<EventConsumer> {
  const { type, consumer: name, maxDeliveries } = options;
  const labels = { stream: type.stream, consumer: name };
  const logger = bus.logger.child(labels);
  const metrics = consumerMetrics(bus.registry);
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;

  const consumer = await bus.jetstream.consumers.get(type.stream, name);
  const messages: ConsumerMessages = await consumer.consume({
    max_messages: options.batchSize ?? 32,
  });

  void (async () => {
    for await (const notification of messages.status()) {
      switch (notification.type) {
        case 'heartbeats_missed':
        case 'consumer_not_found':
        case 'stream_not_found':
        case 'consumer_deleted':
          logger.warn({ notification }, 'consumer cannot pull messages');
          break;
        default:
          logger.trace({ notification }, 'consumer notification');
      }
    }
  })();

  const concurrency = options.concurrency ?? 1;
  const running = (async () => {
    const inFlight = new Set<Promise<void>>();
    for await (const message of messages) {
      const handling = handleSafely(message).finally(() => inFlight.delete(handling));
      inFlight.add(handling);
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  })().catch((error: unknown) => logger.error({ err: error }, 'consumer stopped on an error'));
  logger.info('consuming');

  /**
   * handleMessage catches what the handler and the dead-lettering throw; this is the last
   * line, for bugs: the message comes again after a delay and the loop goes on to the next
   * one, so one message can never stop the consumer.
   */
  async function handleSafely(message: JsMsg): Promise<void> {
    try {
      await handleMessage(message);
    } catch (error) {
      logger.error({ err: error, subject: message.subject }, 'message handling failed');
      try {
        message.nak(retryDelay(message.info.deliveryCount));
      } catch (nakError) {
        logger.error({ err: nakError }, 'could not nak the message; it comes again after ack wait');
      }
    }
  }

  /**
   * Each delivery is the root of a trace of its own, with a link to the publisher's span
   * rather than as its child: the event may be handled long after, several times (ADR 17).
   */
  function handleMessage(message: JsMsg): Promise<void> {
    return inSpan(
      messagingSpanName('process', message.subject),
      () => ({
        kind: SpanKind.CONSUMER,
        parent: ROOT_CONTEXT,
        links: linkTo(traceContextOf(message.headers)),
        attributes: () => ({
          ...messagingAttributes('process', message.subject),
          'messaging.consumer.group.name': name,
          'messaging.message.delivery_count': message.info.deliveryCount,
        }),
      }),
      () => handleDelivery(message),
    );
  }

  async function handleDelivery(message: JsMsg): Promise<void> {
    const delivery: Delivery = {
      subject: message.subject,
      streamSequence: message.info.streamSequence,
      deliveryCount: message.info.deliveryCount,
    };
    metrics.deliveries.inc(labels);
    if (message.info.redelivered) metrics.redeliveries.inc(labels);
    metrics.pending.set(labels, message.info.pending);

    let event: T;
    try {
      event = decode(message);
    } catch (error) {
      // It will never decode: retrying would only delay the messages behind it.
      await deadLetter(message, delivery, 'unreadable', error);
      return;
    }

    try {
      await options.handle(event, delivery);
      message.ack();
      metrics.handled.inc({ ...labels, result: 'ack' });
    } catch (error) {
      const transient = options.isTransient?.(error) ?? false;
      if (!transient && delivery.deliveryCount >= maxDeliveries) {
        await deadLetter(message, delivery, 'failed', error);
        return;
      }
      const delayMs = retryDelay(delivery.deliveryCount);
      message.nak(delayMs);
      metrics.handled.inc({ ...labels, result: 'retry' });
      logger.warn(
        { err: error, eventId: event.eventId, ...delivery, transient, retryInMs: delayMs },
        'event handling failed; it will come again',
      );
    }
  }

  function decode(message: JsMsg): T {
    const typeName = message.headers?.get(EVENT_TYPE_HEADER);
    if (typeName && typeName !== type.name) {
      throw new Error(`expected a ${type.name}, got a ${typeName}`);
    }
    const event = type.decode(message.data);
    if (!event.eventId) throw new Error(`the ${type.name} has no eventId`);
    return event;
  }

  async function deadLetter(
    message: JsMsg,
    delivery: Delivery,
    reason: 'unreadable' | 'failed',
    error: unknown,
  ): Promise<void> {
    const errorText = error instanceof Error ? error.message : String(error);
    const deadHeaders = headers();
    deadHeaders.set(EVENT_TYPE_HEADER, message.headers?.get(EVENT_TYPE_HEADER) || type.name);
    deadHeaders.set(DEAD_LETTER_HEADERS.reason, reason);
    deadHeaders.set(DEAD_LETTER_HEADERS.error, errorText.slice(0, 500).replace(/[\r\n]+/g, ' '));
    deadHeaders.set(DEAD_LETTER_HEADERS.subject, delivery.subject);
    deadHeaders.set(DEAD_LETTER_HEADERS.stream, type.stream);
    deadHeaders.set(DEAD_LETTER_HEADERS.sequence, String(delivery.streamSequence));
    deadHeaders.set(DEAD_LETTER_HEADERS.deliveries, String(delivery.deliveryCount));
    try {
      // The id makes a dead letter published twice (we crashed before term) stored once.
      await bus.jetstream.publish(deadLetterSubject(type.stream, name), message.data, {
        msgID: `${type.stream}-${name}-${delivery.streamSequence}`,
        headers: deadHeaders,
      });
    } catch (publishError) {
      message.nak(retryDelay(delivery.deliveryCount));
      metrics.handled.inc({ ...labels, result: 'retry' });
      logger.error(
        { err: publishError, ...delivery },
        'could not dead-letter a message; it will come again',
      );
      return;
    }
    message.term();
    metrics.handled.inc({ ...labels, result: 'dead_letter' });
    metrics.deadLettered.inc({ ...labels, reason });
    logger.error({ err: error, reason, ...delivery }, 'message dead-lettered');
  }

  /** Doubling from retryDelayMs, capped, with jitter so failed messages do not return in step. */
  function retryDelay(deliveryCount: number): number {
    return backoff(deliveryCount, { initialMs: options.retryDelayMs, maxMs: maxRetryDelayMs });
  }

  return {
    async stop() {
      await messages.close();
      await running;
      logger.info('consumer stopped');
    },
  };
}
