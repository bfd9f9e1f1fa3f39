import type { StockChanged } from '@switchboard/contracts';

/** One watcher's view of the feed: iterate it for changes of its SKU; `close` ends it. */
export interface StockWatch extends AsyncIterable<StockChanged> {
  close(): void;
}

/**
 * The StockChanged events of committed changes, as they happen, for whoever watches a SKU
 * (WatchStock). A watcher that reads slower than the stock changes gets the newest level,
 * not a backlog: stock is a state, and only its newest value matters.
 */
export interface StockChangeFeed {
  /** Starts listening at once, so no change after this call is missed. */
  watch(sku: string, signal: AbortSignal): StockWatch;
  stop(): void;
}
