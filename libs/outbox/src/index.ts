export {
  forgetInboxMessages,
  recordInboxMessages,
  writeOutboxEvents,
  type Queryable,
} from './outbox.js';
export { createOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from './outbox-relay.js';
export { OUTBOX_PUBLISH_TIMEOUT_MS, createJetStreamOutboxRelay } from './jetstream-outbox-relay.js';
export {
  createOutboxRetention,
  type OutboxRetention,
  type OutboxRetentionOptions,
} from './outbox-retention.js';
export { startEventOutbox } from './event-outbox.js';
