import type { MsgRequest, PubAck, StoredMsg } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { AppError } from '@switchboard/errors';
import type { Bus } from './connection.js';
import { DEAD_LETTER_HEADERS } from './consumer.js';
import { DEAD_LETTER_STREAM_NAME } from './dead-letter-stream.js';
import { EVENT_TYPE_HEADER } from './event-type.js';

/** One message a consumer gave up on, as the DEADLETTER stream holds it. */
export interface DeadLetter {
  /** Its sequence in the DEADLETTER stream: what `replayDeadLetter` takes. */
  sequence: number;
  /** When it was dead-lettered. */
  time: Date;
  /** The stream and durable consumer that gave up on it (from `deadletter.<stream>.<consumer>`). */
  stream: string;
  consumer: string;
  /** `failed` (maxDeliveries reached) or `unreadable` (could not be decoded). */
  reason: string;
  error: string;
  originalSubject: string;
  originalStream: string;
  originalSequence: number;
  deliveries: number;
  /** The `Switchboard-Event-Type` header; empty when the message had none. */
  eventType: string;
  /** The payload, unchanged. */
  data: Uint8Array;
}

export interface ListDeadLettersOptions {
  /** Only the dead letters of consumers of this stream (say `ORDERS`). */
  stream?: string;
  /** Only those of this durable consumer. */
  consumer?: string;
  /** At most this many, oldest first; default 1000. */
  limit?: number;
}

export interface ReplayedDeadLetter {
  deadLetter: DeadLetter;
  /** JetStream's ack of the copy published to the original subject. */
  ack: PubAck;
}

const DEFAULT_LIST_LIMIT = 1_000;

/**
 * The dead letters, oldest first, read without consuming anything: each is fetched by
 * sequence (`STREAM.MSG.GET` with `next_by_subj`, which nats-server 2.9 has), so listing
 * creates no consumer and changes nothing.
 */
export async function listDeadLetters(
  bus: Bus,
  options: ListDeadLettersOptions = {},
): Promise<DeadLetter[]> {
  const limit = options.limit ?? DEFAULT_LIST_LIMIT;
  const filter = `deadletter.${options.stream ?? '*'}.${options.consumer ?? '*'}`;
  const info = await bus.manager.streams.info(DEAD_LETTER_STREAM_NAME);
  const letters: DeadLetter[] = [];
  let next = info.state.first_seq;
  while (letters.length < limit && next <= info.state.last_seq) {
    // next_by_subj jumps over other consumers' letters and the gaps replays leave; the
    // manager's type knows only seq and last_by_subj, the server takes both.
    const query = { seq: next, next_by_subj: filter } as unknown as MsgRequest;
    const stored = await bus.manager.streams.getMessage(DEAD_LETTER_STREAM_NAME, query);
    if (!stored) break;
    letters.push(deadLetterOf(stored));
    next = stored.seq + 1;
  }
  return letters;
}

/**
 * Sends a dead letter back: its payload and event type header are published to its original
 * subject, and once JetStream has stored the copy the dead letter is deleted.
 *
 * Why this is safe: every consumer of the subject gets the copy, not only the one that gave
 * up, but each records the event's `eventId` (in the payload) in its inbox with its effect,
 * so those that already applied the event skip the copy and only the one that gave up
 * applies it. The `Nats-Msg-Id` `replay-<sequence>` makes a replay repeated inside the
 * duplicate window (we crashed before the delete) stored once.
 *
 * Fails with NOT_FOUND when the DEADLETTER stream no longer holds the sequence (already
 * replayed, or deleted), and with INVALID_ARGUMENT when the message there is no dead letter.
 */
export async function replayDeadLetter(
  bus: Bus,
  sequence: number,
  options: { timeoutMs?: number } = {},
): Promise<ReplayedDeadLetter> {
  if (!Number.isSafeInteger(sequence) || sequence < 1) {
    throw new AppError('INVALID_ARGUMENT', `a dead letter sequence is a positive integer`, {
      details: { sequence },
    });
  }
  const stored = await bus.manager.streams.getMessage(DEAD_LETTER_STREAM_NAME, { seq: sequence });
  if (!stored) {
    throw new AppError(
      'NOT_FOUND',
      `no dead letter ${sequence} in ${DEAD_LETTER_STREAM_NAME}: already replayed, deleted or aged out`,
      { details: { sequence } },
    );
  }
  const deadLetter = deadLetterOf(stored);
  if (!deadLetter.originalSubject || !deadLetter.originalStream) {
    throw new AppError(
      'INVALID_ARGUMENT',
      `${DEAD_LETTER_STREAM_NAME} message ${sequence} has no ${DEAD_LETTER_HEADERS.subject} or ${DEAD_LETTER_HEADERS.stream} header`,
      { details: { sequence, subject: stored.subject } },
    );
  }

  const replayHeaders = headers();
  if (deadLetter.eventType) replayHeaders.set(EVENT_TYPE_HEADER, deadLetter.eventType);
  const ack = await bus.jetstream.publish(deadLetter.originalSubject, stored.data, {
    msgID: `replay-${sequence}`,
    headers: replayHeaders,
    timeout: options.timeoutMs ?? 5_000,
  });
  if (ack.stream !== deadLetter.originalStream) {
    // The subject now belongs to another stream: keep the letter for a person to look at.
    throw new AppError(
      'INTERNAL',
      `dead letter ${sequence} was replayed to ${deadLetter.originalSubject}, stored by ${ack.stream} instead of ${deadLetter.originalStream}; the dead letter is kept`,
      { details: { sequence, stream: ack.stream, streamSequence: ack.seq } },
    );
  }
  await bus.manager.streams.deleteMessage(DEAD_LETTER_STREAM_NAME, sequence);
  bus.logger.info(
    {
      sequence,
      subject: deadLetter.originalSubject,
      streamSequence: ack.seq,
      duplicate: ack.duplicate,
    },
    'dead letter replayed',
  );
  return { deadLetter, ack };
}

function deadLetterOf(stored: StoredMsg): DeadLetter {
  const header = (name: string) => stored.header?.get(name) ?? '';
  // deadletter.<stream>.<consumer>: neither a stream name nor a durable name holds a dot.
  const [, stream = '', consumer = ''] = stored.subject.split('.');
  return {
    sequence: stored.seq,
    time: stored.time,
    stream,
    consumer,
    reason: header(DEAD_LETTER_HEADERS.reason),
    error: header(DEAD_LETTER_HEADERS.error),
    originalSubject: header(DEAD_LETTER_HEADERS.subject),
    originalStream: header(DEAD_LETTER_HEADERS.stream),
    originalSequence: Number(header(DEAD_LETTER_HEADERS.sequence)) || 0,
    deliveries: Number(header(DEAD_LETTER_HEADERS.deliveries)) || 0,
    eventType: header(EVENT_TYPE_HEADER),
    data: stored.data,
  };
}
