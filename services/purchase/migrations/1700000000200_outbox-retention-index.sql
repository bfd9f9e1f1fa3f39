-- Up Migration

-- The retention worker (libs/outbox) deletes published outbox rows once they are older than
-- OUTBOX_RETENTION_HOURS; this index lets each of its batches find the oldest ones without
-- scanning the table. Built in the migration's transaction: writes to the outbox wait while
-- it builds, which is short unless the table has grown large (then run it in a quiet hour).
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;

-- Down Migration
DROP INDEX outbox_published_at;
