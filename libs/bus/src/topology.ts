import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * How long JetStream remembers a message id and drops a second message with the same id. An
 * outbox relay that lost an ack republishes within its retry horizon, which must be shorter
 * (checked at start by `assertDuplicateWindowCovers`). Past the window the consumer's inbox
 * still drops the duplicate.
 */
export const DUPLICATE_WINDOW_MS = 10 * 60 * 1000;

export type StreamDefinition = Pick<
  StreamConfig,
  | 'name'
  | 'description'
  | 'subjects'
  | 'retention'
  | 'storage'
  | 'discard'
  | 'max_age'
  | 'duplicate_window'
  | 'num_replicas'
>;

/**
 * Limits retention (not interest or work-queue): an event is kept for its max_age whoever has
 * read it, so a consumer created later, or one that was down, still finds it, and an operator
 * can replay. Only features nats-server 2.9 has (see docs/events.md).
 */
function eventStream(name: string, subjects: string[], maxAgeMs: number, description: string) {
  return {
    name,
    description,
    subjects,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(maxAgeMs),
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    num_replicas: 1,
  } satisfies StreamDefinition;
}

export const ORDERS_STREAM = eventStream(
  'ORDERS',
  ['orders.events.>'],
  7 * DAY_MS,
  'Order events published by purchase through its outbox.',
);

export const INVENTORY_STREAM = eventStream(
  'INVENTORY',
  ['inventory.events.>'],
  7 * DAY_MS,
  'Stock events published by inventory through its outbox.',
);

/** Messages a consumer gave up on, kept long enough for someone to look at them. */
export const DEAD_LETTER_STREAM = eventStream(
  'DEADLETTER',
  ['deadletter.>'],
  30 * DAY_MS,
  'Messages consumers could not handle, with the reason in headers.',
);

export const STREAMS: readonly StreamDefinition[] = [
  ORDERS_STREAM,
  INVENTORY_STREAM,
  DEAD_LETTER_STREAM,
];

/** Where a consumer's poison messages go: `deadletter.<stream>.<consumer>`. */
export function deadLetterSubject(stream: string, consumer: string): string {
  return `deadletter.${stream}.${consumer}`;
}

export interface DurableConsumerDefinition {
  stream: string;
  /** The durable name: one per consuming service, shared by its replicas. */
  name: string;
  /** One subject (nats-server 2.9 has no multi-subject filters). */
  filterSubject: string;
  /** How long a delivered message may stay unacknowledged before JetStream sends it again. */
  ackWaitMs: number;
  /** Messages delivered and not yet acknowledged, at most, across the replicas. */
  maxAckPending: number;
  description: string;
}

/**
 * The JetStream config of a durable pull consumer. max_deliver stays unlimited: the consumer
 * itself counts deliveries and dead-letters a message (see consumer.ts), so the server never
 * silently stops delivering one.
 */
export function durableConsumerConfig(definition: DurableConsumerDefinition) {
  return {
    durable_name: definition.name,
    description: definition.description,
    filter_subject: definition.filterSubject,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(definition.ackWaitMs),
    max_deliver: -1,
    max_ack_pending: definition.maxAckPending,
  };
}
