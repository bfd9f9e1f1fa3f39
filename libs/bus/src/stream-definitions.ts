import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';

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
 * A stream with limits retention (not interest or work-queue): a message is kept for its
 * max_age whoever has read it, so a consumer created later, or one that was down, still finds
 * it, and an operator can replay (ADR 6). Messages with the same id inside
 * `duplicateWindowMs` are stored once. Only features nats-server 2.9 has.
 */
export function limitsRetentionStream(options: {
  name: string;
  subjects: string[];
  maxAgeMs: number;
  duplicateWindowMs: number;
  description: string;
}) {
  return {
    name: options.name,
    description: options.description,
    subjects: options.subjects,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(options.maxAgeMs),
    duplicate_window: nanos(options.duplicateWindowMs),
    num_replicas: 1,
  } satisfies StreamDefinition;
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
