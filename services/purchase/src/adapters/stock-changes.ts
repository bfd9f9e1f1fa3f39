import type { Bus } from '@switchboard/bus';
import { STOCK_CHANGED } from '@switchboard/events';
import type { StockChanged } from '@switchboard/contracts';

/**
 * inventory's StockChanged events, every SKU's (`inventory.events.stock.changed.*`, which
 * purchase's NATS user may subscribe to, ADR 19), as they are published. A core subscription:
 * a change missed while NATS is away is made good by the snapshot of the next connection.
 */
export function subscribeStockChanges(
  bus: Bus,
  onChange: (event: StockChanged) => void,
): { stop(): Promise<void> } {
  const subscription = bus.connection.subscribe(STOCK_CHANGED.subject, {
    callback: (error, message) => {
      if (error) {
        bus.logger.warn({ err: error }, 'stock changes subscription failed');
        return;
      }
      try {
        onChange(STOCK_CHANGED.decode(message.data));
      } catch (decodeError) {
        bus.logger.warn({ err: decodeError, subject: message.subject }, 'bad StockChanged');
      }
    },
  });
  return {
    stop() {
      subscription.unsubscribe();
      return Promise.resolve();
    },
  };
}
