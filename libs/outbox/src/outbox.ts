import type { EncodedEvent } from '@switchboard/bus';
import { currentTraceparent } from '@switchboard/telemetry';
import type pg from 'pg';

/** Anything that runs a query: the transaction's client, never the pool (see below). */
export type Queryable = Pick<pg.PoolClient, 'query'>;

/**
 * Writes events to the outbox table. Call it with the client of the transaction that makes
 * the state change the events tell of: both commit together or neither does, so no event is
 * published for a change that was rolled back and no change goes without its event.
 */
export async function writeOutboxEvents(client: Queryable, events: EncodedEvent[]): Promise<void> {
  if (events.length === 0) return;
  // The trace of the writing transaction, for the relay's publish (ADR 17); null when off.
  const traceparent = currentTraceparent() ?? null;
  await client.query(
    `INSERT INTO outbox (event_id, subject, event_type, payload, traceparent)
     SELECT *, $5::text FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[])`,
    [
      events.map((event) => event.eventId),
      events.map((event) => event.subject),
      events.map((event) => event.type),
      events.map((event) => Buffer.from(event.data)),
      traceparent,
    ],
  );
}

/**
 * Records that a consumer has applied a message, in the transaction that applies it. Returns
 * false when the message was recorded before: the caller then skips the effect, so a message
 * delivered twice (redelivered, or published twice) changes the state once.
 */
export async function recordInboxMessage(
  client: Queryable,
  consumer: string,
  messageId: string,
): Promise<boolean> {
  const result = await client.query(
    `INSERT INTO inbox (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
    [consumer, messageId],
  );
  return result.rowCount === 1;
}
