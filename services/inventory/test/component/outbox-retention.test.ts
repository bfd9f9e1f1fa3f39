import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { inventoryOnFreshDatabase } from '../support/inventory-under-test.js';

// inventory in-process on its real Postgres (migrated) and NATS, with a retention pass every
// 200 ms; rows are written straight into its tables with the ages the test needs.
describe('outbox and inbox retention in inventory', () => {
  it('deletes published events and inbox ids past their retention, keeps the rest, and counts them', async () => {
    const { db, inventory } = await inventoryOnFreshDatabase('retention', {
      OUTBOX_RETENTION_HOURS: '24',
      INBOX_RETENTION_HOURS: '240',
      RETENTION_INTERVAL_MS: '200',
    });
    const outboxRow = (subject: string, publishedHoursAgo: number) =>
      db.query(
        `INSERT INTO outbox (event_id, subject, event_type, payload, created_at, published_at)
         VALUES ($1, $2, 'test.Event', '\\x00', now() - interval '30 days',
                 now() - $3::int * interval '1 hour')`,
        [randomUUID(), subject, publishedHoursAgo],
      );
    const inboxRow = (messageId: string, receivedHoursAgo: number) =>
      db.query(
        `INSERT INTO inbox (consumer, message_id, received_at)
         VALUES ('inventory-orders', $1, now() - $2::int * interval '1 hour')`,
        [messageId, receivedHoursAgo],
      );
    await outboxRow('test.retention.old', 25);
    await outboxRow('test.retention.recent', 23);
    await inboxRow('old-message', 241);
    await inboxRow('recent-message', 239);

    await expect
      .poll(
        async () =>
          (await db.query<{ subject: string }>('SELECT subject FROM outbox ORDER BY id')).rows,
      )
      .toEqual([{ subject: 'test.retention.recent' }]);
    await expect
      .poll(
        async () => (await db.query<{ message_id: string }>('SELECT message_id FROM inbox')).rows,
      )
      .toEqual([{ message_id: 'recent-message' }]);
    const metrics = await (await fetch(`${inventory.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/^outbox_retention_deleted_total\{[^}]*table="outbox"[^}]*\} 1$/m);
    expect(metrics).toMatch(/^outbox_retention_deleted_total\{[^}]*table="inbox"[^}]*\} 1$/m);
    expect(metrics).toMatch(/^outbox_retention_failures_total\{[^}]*\} 0$/m);
  });
});
