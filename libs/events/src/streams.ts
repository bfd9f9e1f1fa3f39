import { deadLetterStream, limitsRetentionStream } from '@switchboard/bus';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * How long JetStream remembers a message id and drops a second message with the same id. An
 * outbox relay that lost an ack republishes within its retry horizon, which must be shorter
 * (checked at start by `assertDuplicateWindowCovers`). Past the window the consumer's inbox
 * still drops the duplicate.
 */
export const DUPLICATE_WINDOW_MS = 10 * 60 * 1000;

/** Owned by purchase, its only producer: purchase provisions it (ADR 6). */
export const ORDERS_STREAM = limitsRetentionStream({
  name: 'ORDERS',
  subjects: ['orders.events.>'],
  maxAgeMs: 7 * DAY_MS,
  duplicateWindowMs: DUPLICATE_WINDOW_MS,
  description: 'Order events published by purchase through its outbox.',
});

/** Owned by inventory, its only producer: inventory provisions it. */
export const INVENTORY_STREAM = limitsRetentionStream({
  name: 'INVENTORY',
  subjects: ['inventory.events.>'],
  maxAgeMs: 7 * DAY_MS,
  duplicateWindowMs: DUPLICATE_WINDOW_MS,
  description: 'Stock events published by inventory through its outbox.',
});

/**
 * Messages a consumer gave up on, kept long enough for someone to look at them. Owned by
 * inventory, whose consumer is the one that writes dead letters today; a new consuming
 * service ensures it too (provisioning is idempotent).
 */
export const DEAD_LETTER_STREAM = deadLetterStream({
  maxAgeMs: 30 * DAY_MS,
  duplicateWindowMs: DUPLICATE_WINDOW_MS,
});
