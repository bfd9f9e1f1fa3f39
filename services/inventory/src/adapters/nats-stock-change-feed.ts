import type { Bus } from '@switchboard/bus';
import { STOCK_CHANGED } from '@switchboard/events';
import type { StockChanged } from '@switchboard/contracts';
import { Gauge, type Registry } from 'prom-client';
import type { StockChangeFeed } from '../domain/stock-change-feed.js';

/**
 * The StockChanged events inventory publishes (after they are committed, through the outbox),
 * fanned out in-process to the WatchStock streams: one NATS subscription for all watchers.
 * A watcher that reads slower than the stock changes gets the latest level, not a backlog.
 */
export function startStockChangeFeed(bus: Bus, registry: Registry): StockChangeFeed {
  const watchers = new Map<string, Set<(event: StockChanged) => void>>();
  const gauge =
    (registry.getSingleMetric('inventory_stock_watchers') as Gauge | undefined) ??
    new Gauge({
      name: 'inventory_stock_watchers',
      help: 'WatchStock streams listening for stock changes now.',
      registers: [registry],
    });
  // Every SKU's events: STOCK_CHANGED.subject is `inventory.events.stock.changed.*`.
  const subscription = bus.connection.subscribe(STOCK_CHANGED.subject, {
    callback: (error, message) => {
      if (error) return;
      const event = STOCK_CHANGED.decode(message.data);
      for (const notify of watchers.get(event.sku) ?? []) notify(event);
    },
  });

  return {
    watch(sku, signal) {
      let latest: StockChanged | undefined;
      let wake: (() => void) | undefined;
      const notify = (event: StockChanged) => {
        latest = event;
        wake?.();
      };
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        const forSku = watchers.get(sku);
        forSku?.delete(notify);
        if (forSku?.size === 0) watchers.delete(sku);
        signal.removeEventListener('abort', onAbort);
        gauge.dec();
        wake?.();
      };
      const onAbort = () => close();
      watchers.set(sku, (watchers.get(sku) ?? new Set()).add(notify));
      gauge.inc();
      signal.addEventListener('abort', onAbort, { once: true });

      async function* changes(): AsyncGenerator<StockChanged> {
        try {
          while (!closed) {
            if (latest) {
              const event = latest;
              latest = undefined;
              yield event;
              continue;
            }
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
          }
        } finally {
          close();
        }
      }
      return { [Symbol.asyncIterator]: changes, close };
    },
    stop() {
      subscription.unsubscribe();
    },
  };
}
