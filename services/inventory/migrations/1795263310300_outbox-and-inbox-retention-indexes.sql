-- Up Migration

-- The retention worker (libs/outbox) deletes published outbox rows and inbox rows once they
-- are older than OUTBOX_RETENTION_HOURS and INBOX_RETENTION_HOURS; these indexes let each of
-- its batches find the oldest rows without scanning the tables. Built in the migration's
-- transaction: writes to the two tables wait while they build, which is short unless the
-- tables have grown large (then run it in a quiet hour).
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;
CREATE INDEX inbox_received_at ON inbox (received_at);

-- Down Migration
DROP INDEX inbox_received_at;
DROP INDEX outbox_published_at;
