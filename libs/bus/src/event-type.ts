/** Every event carries its own id: it is the JetStream message id and the inbox key. */
export interface Event {
  eventId: string;
}

/**
 * One kind of event: its message's name and codec, the subject it is published on and the
 * stream that keeps it. Publishers and consumers both go through it, so they cannot disagree.
 * The system's own types are declared in `@switchboard/events`, not here.
 */
export interface EventType<T extends Event> {
  /** The message's full name (protobuf in Switchboard), sent in the `Switchboard-Event-Type` header. */
  name: string;
  /**
   * What consumers subscribe to: the subject every event of the type is published on, or, for
   * a type whose subject carries a key (`subjectOf`), the wildcard matching all of them.
   */
  subject: string;
  /** The subject one event is published on, when it carries a key of the event. */
  subjectOf?(event: T): string;
  stream: string;
  encode(event: T): Uint8Array;
  decode(data: Uint8Array): T;
}

/** The header naming the protobuf message a payload holds, for readers of a raw stream. */
export const EVENT_TYPE_HEADER = 'Switchboard-Event-Type';

/**
 * Whether a value can be one token of a NATS subject: not empty, and none of `.` (it separates
 * tokens), `*` or `>` (wildcards) or white space (it ends a subject in the protocol).
 */
export function isSubjectToken(value: string): boolean {
  return /^[^\s.*>]+$/u.test(value);
}

/**
 * An event as bytes, ready to be stored in an outbox row and published later by a relay that
 * knows nothing of its type.
 */
export interface EncodedEvent {
  eventId: string;
  subject: string;
  /** EventType.name */
  type: string;
  data: Uint8Array;
  /**
   * The trace context of the transaction that wrote the event (the outbox row's), so the
   * publish joins its trace although it happens later (ADR 17). None: the current context.
   */
  traceparent?: string;
}

export function encodeEvent<T extends Event>(type: EventType<T>, event: T): EncodedEvent {
  if (event.eventId === '') throw new Error(`a ${type.name} needs an eventId`);
  return {
    eventId: event.eventId,
    subject: type.subjectOf?.(event) ?? type.subject,
    type: type.name,
    data: type.encode(event),
  };
}
