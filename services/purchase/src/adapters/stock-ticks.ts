import type { StockChanged } from '@switchboard/contracts';
import { createDatagramReceiver } from '@switchboard/datagrams';
import { STOCK_CHANGED } from '@switchboard/events';
import type { Logger } from '@switchboard/observability';
import type { Registry } from 'prom-client';
import type { StockLevel } from '../entry-points/live/live-feed.js';

/**
 * inventory's stock ticks over UDP (ADR 26), for the live feed: fresh rather than complete.
 * Each datagram is a StockChanged; a gap in their sequence numbers (or a new sender) reads
 * the whole stock again (ListStock) and passes on each SKU whose level differs.
 */
export async function receiveStockTicks(deps: {
  host: string;
  port: number;
  registry: Registry;
  logger: Logger;
  onTick(level: StockLevel): void;
  /** Every SKU's stock now (ListStock); throws when inventory does not answer. */
  snapshot(): Promise<StockLevel[]>;
  /** The levels the feed has now, to pass on only what a snapshot changes. */
  current(): ReadonlyMap<string, StockLevel>;
}): Promise<{ stop(): Promise<void> }> {
  const receiver = createDatagramReceiver<StockChanged>({
    stream: 'stock-ticks',
    host: deps.host,
    port: deps.port,
    registry: deps.registry,
    // Any bytes may arrive on the port: a StockChanged that does not decode, or names no SKU,
    // is refused (counted in datagrams_rejected_total{reason="payload"}).
    decode: (payload) => {
      const event = STOCK_CHANGED.decode(payload);
      return event.sku === '' ? undefined : event;
    },
    onData: (event) => deps.onTick(event),
    async resync(reason) {
      const current = deps.current();
      for (const level of await deps.snapshot()) {
        const known = current.get(level.sku);
        const same =
          known?.onHand === level.onHand &&
          known.reserved === level.reserved &&
          known.available === level.available;
        if (!same) deps.onTick(level);
      }
      deps.logger.debug({ reason }, 'stock ticks: resynchronised from ListStock');
    },
    onError: (error, context) =>
      deps.logger.warn({ err: error, context }, 'stock ticks: receiver problem'),
  });
  await receiver.start();
  deps.logger.info({ host: deps.host, port: deps.port }, 'stock ticks over UDP: listening');
  return { stop: () => receiver.stop() };
}
