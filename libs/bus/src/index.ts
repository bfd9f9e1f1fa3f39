export { connectBus, type Bus, type BusOptions } from './connection.js';
export {
  EVENT_TYPE_HEADER,
  ORDER_CANCELLED,
  ORDER_CONFIRMED,
  STOCK_CHANGED,
  encodeEvent,
  isSubjectToken,
  stockChangedSubject,
  type EncodedEvent,
  type Event,
  type EventType,
} from './events.js';
export {
  DEAD_LETTER_STREAM,
  DUPLICATE_WINDOW_MS,
  INVENTORY_STREAM,
  ORDERS_STREAM,
  STREAMS,
  deadLetterSubject,
  type DurableConsumerDefinition,
  type StreamDefinition,
} from './topology.js';
export {
  assertDuplicateWindowCovers,
  ensureDurableConsumer,
  ensureStreams,
} from './provisioning.js';
export { publishEncodedEvent, publishEvent } from './publisher.js';
export {
  DEAD_LETTER_HEADERS,
  startEventConsumer,
  type Delivery,
  type EventConsumer,
  type EventConsumerOptions,
} from './consumer.js';
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
