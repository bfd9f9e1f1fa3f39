import type { PubAck } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { SpanKind, contextOfTraceparent, inSpan } from '@switchboard/telemetry';
import type { Bus } from './connection.js';
import {
  EVENT_TYPE_HEADER,
  encodeEvent,
  type EncodedEvent,
  type Event,
  type EventType,
} from './event-type.js';
import { injectTraceHeaders, messagingAttributes, messagingSpanName } from './trace-headers.js';

/**
 * Publishes an encoded event to JetStream and resolves once the stream has stored it (the
 * PubAck). The event id is the `Nats-Msg-Id`, so publishing the same event again within the
 * stream's duplicate window stores nothing more (the ack says `duplicate: true`).
 */
export async function publishEncodedEvent(
  bus: Bus,
  event: EncodedEvent,
  options: { timeoutMs?: number } = {},
): Promise<PubAck> {
  // A PRODUCER span in the trace of the event's writer; its context travels in the headers.
  return inSpan(
    messagingSpanName('send', event.subject),
    () => ({
      kind: SpanKind.PRODUCER,
      parent: event.traceparent === undefined ? undefined : contextOfTraceparent(event.traceparent),
      attributes: () => ({
        ...messagingAttributes('send', event.subject),
        'messaging.message.id': event.eventId,
      }),
    }),
    () => {
      const eventHeaders = headers();
      eventHeaders.set(EVENT_TYPE_HEADER, event.type);
      injectTraceHeaders(eventHeaders);
      return bus.jetstream.publish(event.subject, event.data, {
        msgID: event.eventId,
        headers: eventHeaders,
        timeout: options.timeoutMs ?? 5_000,
      });
    },
  );
}

/**
 * Publishes one typed event straight away. Services publish the events of their own state
 * changes through their outbox instead (written in the same transaction as the change);
 * this is for tools and tests.
 */
export function publishEvent<T extends Event>(
  bus: Bus,
  type: EventType<T>,
  event: T,
  options: { timeoutMs?: number } = {},
): Promise<PubAck> {
  return publishEncodedEvent(bus, encodeEvent(type, event), options);
}
