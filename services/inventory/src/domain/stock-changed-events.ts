import { randomUUID } from 'node:crypto';
import type { StockChanged } from '@switchboard/contracts';
import type { StockCount } from './types.js';

/**
 * One StockChanged event per SKU, with its levels after the change (ADR 6: every stock change
 * is published). Each event has its own id, which the relay sends as its Nats-Msg-Id.
 */
export function stockChangedEvents(counts: StockCount[], occurredAt: Date): StockChanged[] {
  return counts.map(({ sku, onHand, reserved }) => ({
    eventId: randomUUID(),
    occurredAt,
    sku,
    onHand,
    reserved,
    available: onHand - reserved,
  }));
}
