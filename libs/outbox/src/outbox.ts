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
 * Records that a consumer has applied messages, in the transaction that applies them, and
 * returns the ids recorded now. An id recorded before is left out: the caller then skips its
 * effect, so a message delivered twice (redelivered, or published twice) changes the state
 * once. While another transaction records the same id, this one waits for it on the key; ids
 * are taken in order, so two such transactions never wait for each other.
 */
export async function recordInboxMessages(
  client: Queryable,
  consumer: string,
  messageIds: string[],
): Promise<Set<string>> {
  const result = await client.query<{ message_id: string }>(
    `INSERT INTO inbox (consumer, message_id)
     SELECT $1, id FROM unnest($2::text[]) AS id ORDER BY id
     ON CONFLICT DO NOTHING
     RETURNING message_id`,
    [consumer, messageIds],
  );
  return new Set(result.rows.map((row) => row.message_id));
}

/**
 * Takes back messages this transaction recorded but whose effect it did not apply (a batch
 * that refused some of its messages), so that they count as not applied when they come again.
 */
export async function forgetInboxMessages(
  client: Queryable,
  consumer: string,
  messageIds: string[],
): Promise<void> {
  await client.query(`DELETE FROM inbox WHERE consumer = $1 AND message_id = ANY($2::text[])`, [
    consumer,
    messageIds,
  ]);
}
