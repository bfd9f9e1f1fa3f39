export { recordInboxMessage, writeOutboxEvents, type Queryable } from './outbox.js';
export { createOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from './outbox-relay.js';
export { createJetStreamOutboxRelay } from './jetstream-outbox-relay.js';
export {
  createOutboxRetention,
  type OutboxRetention,
  type OutboxRetentionOptions,
} from './outbox-retention.js';
