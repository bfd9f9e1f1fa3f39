-- Up Migration

-- The W3C traceparent of the transaction that wrote the row (ADR 17): the relay publishes the
-- event with it, so the event joins that trace although it is sent later. NULL when tracing
-- was off, and for the rows written before this migration: they are published as before.
ALTER TABLE outbox ADD COLUMN traceparent text;

-- Down Migration
ALTER TABLE outbox DROP COLUMN traceparent;
