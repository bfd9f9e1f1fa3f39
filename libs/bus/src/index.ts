export {
  connectBus,
  inboxPrefixOf,
  type Bus,
  type BusOptions,
  type BusTlsFiles,
} from './connection.js';
export {
  EVENT_TYPE_HEADER,
  encodeEvent,
  isSubjectToken,
  type EncodedEvent,
  type Event,
  type EventType,
} from './event-type.js';
export {
  limitsRetentionStream,
  type DurableConsumerDefinition,
  type StreamDefinition,
} from './stream-definitions.js';
export {
  DEAD_LETTER_STREAM_NAME,
  deadLetterStream,
  deadLetterSubject,
} from './dead-letter-stream.js';
export {
  assertDuplicateWindowCovers,
  ensureDurableConsumer,
  ensureStreams,
  isStreamNotFound,
} from './provisioning.js';
export { publishEncodedEvent, publishEvent } from './publisher.js';
export {
  DEAD_LETTER_HEADERS,
  startEventConsumer,
  type Delivery,
  type EventConsumer,
  type EventConsumerOptions,
} from './consumer.js';
export { startDurableEventConsumer } from './durable-event-consumer.js';
export {
  listDeadLetters,
  replayDeadLetter,
  type DeadLetter,
  type ListDeadLettersOptions,
  type ReplayedDeadLetter,
} from './dead-letters.js';
export {
  ERROR_CODE_HEADER,
  ERROR_DETAILS_HEADER,
  TIMEOUT_HEADER,
  endpointSubject,
} from './request-reply-protocol.js';
export {
  startNatsService,
  type EndpointHandler,
  type NatsService,
  type NatsServiceOptions,
  type RequestContext,
} from './request-reply-server.js';
export {
  natsRequest,
  type RequestOptions,
  type RequestRetryPolicy,
} from './request-reply-client.js';
