import type { Bus } from '@switchboard/bus';
import { parseInventoryTarget } from '@switchboard/inventory-client';
import type { Logger } from '@switchboard/observability';
import type pg from 'pg';
import type { Registry } from 'prom-client';
import { latestOrders } from '../../adapters/latest-orders.js';
import {
  createLinkRates,
  createSocketsReader,
  type LinkSource,
} from '../../adapters/live-panels.js';
import { subscribeStockChanges } from '../../adapters/stock-changes.js';
import { receiveStockTicks } from '../../adapters/stock-ticks.js';
import type { PurchaseConfig } from '../../config.js';
import type { InventoryClient, Stock } from '../../domain/inventory-client.js';
import { createLiveFeed, type LiveFeed, type StockLevel } from './live-feed.js';

/** How many orders a snapshot carries. */
const SNAPSHOT_ORDERS = 50;
/** The page of ListStock read at start-up; the catalog is small. */
const STOCK_PAGE_SIZE = 500;
const INITIAL_READ_TIMEOUT_MS = 5_000;

/**
 * The live feed with its sources (ADR 21): the stock and the latest orders as they are now,
 * then inventory's StockChanged events, orders as they are saved (app.ts), and every
 * LIVE_PANELS_INTERVAL_MS each service's sockets and the links' rates.
 */
export async function startLiveFeed(deps: {
  config: PurchaseConfig;
  logger: Logger;
  registry: Registry;
  bus: Bus;
  pool: pg.Pool;
  inventory: InventoryClient;
  /** purchase's own sockets, as its GET /sockets reports them (read in-process). */
  ownSockets: () => Promise<unknown>;
}): Promise<{ feed: LiveFeed; startPanels(): void; stop(): Promise<void> }> {
  const { config, logger } = deps;
  const feed = createLiveFeed({
    registry: deps.registry,
    historySize: config.liveHistorySize,
    snapshotOrders: SNAPSHOT_ORDERS,
    maxBufferedBytes: config.liveMaxBufferedBytes,
    heartbeatIntervalMs: config.liveHeartbeatIntervalMs,
  });
  const publishStock = (level: StockLevel) =>
    feed.publish({
      type: 'stock',
      stock: {
        sku: level.sku,
        onHand: level.onHand,
        reserved: level.reserved,
        available: level.available,
      },
    });
  // Subscribed before the stock is read, so no change falls between the read and the events.
  // From NATS (complete, by default) or from inventory's UDP ticks (fresh, ADR 26), whose
  // gaps are repaired by reading the whole stock again.
  const stockChanges =
    config.stockTicksPort === 0
      ? subscribeStockChanges(deps.bus, publishStock)
      : await receiveStockTicks({
          host: config.stockTicksHost,
          port: config.stockTicksPort,
          registry: deps.registry,
          logger,
          onTick: publishStock,
          snapshot: () => readStock(deps.inventory, logger, { throwOnFailure: true }),
          current: () => feed.stock(),
        });
  feed.seed({
    stock: await readStock(deps.inventory, logger),
    orders: await latestOrders(deps.pool, SNAPSHOT_ORDERS),
  });

  let panels: NodeJS.Timeout | undefined;
  return {
    feed,
    startPanels() {
      const readSockets = createSocketsReader({
        own: { name: 'purchase', read: deps.ownSockets },
        peers: [{ name: 'inventory', url: config.inventoryOpsUrl }],
        timeoutMs: Math.min(config.livePanelsIntervalMs, 2_000),
        logger,
      });
      const readRates = createLinkRates(deps.registry, linkSources(config));
      let lastSockets = '';
      let running = false;
      panels = setInterval(() => {
        // One refresh at a time: a slow GET /sockets skips a turn rather than piling up.
        if (running) return;
        running = true;
        void (async () => {
          try {
            feed.publish({ type: 'rates', rates: { links: await readRates() } });
            // The sockets panel costs a readlink per open descriptor, a parse of the socket
            // tables and a GET /sockets of inventory: it grows with the connections, and was
            // a tenth of purchase's CPU under 10,000 slow sockets. Read only while someone
            // watches; a new watcher gets it at the next turn.
            if (feed.clientCount() === 0) {
              lastSockets = '';
              return;
            }
            const sockets = await readSockets();
            const text = JSON.stringify(sockets);
            if (text !== lastSockets) {
              lastSockets = text;
              feed.publish({ type: 'sockets', sockets });
            }
          } catch (error) {
            logger.warn({ err: error }, 'live panels refresh failed');
          } finally {
            running = false;
          }
        })();
      }, config.livePanelsIntervalMs);
      panels.unref();
    },
    async stop() {
      clearInterval(panels);
      await stockChanges.stop();
      feed.close();
    },
  };
}

/**
 * Every SKU's stock now; empty (filled in by the events) if inventory does not answer, or,
 * for a resync that must be tried again, the error.
 */
async function readStock(
  inventory: InventoryClient,
  logger: Logger,
  options: { throwOnFailure?: boolean } = {},
): Promise<Stock[]> {
  const stock: Stock[] = [];
  let pageToken = '';
  try {
    do {
      const page = await inventory.listStock(
        { pageSize: STOCK_PAGE_SIZE, pageToken },
        { deadline: new Date(Date.now() + INITIAL_READ_TIMEOUT_MS) },
      );
      stock.push(...page.stock);
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
  } catch (error) {
    if (options.throwOnFailure) throw error;
    logger.warn({ err: error }, 'live feed: stock not read at start; it fills in as it changes');
  }
  return stock;
}

/** The links of the topology panel: purchase's clients of inventory, and its JetStream. */
function linkSources(config: PurchaseConfig): LinkSource[] {
  const target = parseInventoryTarget(config.inventoryTarget);
  const transport = 'problem' in target ? 'unknown' : target.transport;
  const natsTls = config.natsTls !== undefined || config.natsUrl.startsWith('tls://');
  return [
    {
      link: 'inventory',
      transport: transport === 'grpc-uds' ? 'gRPC/UDS' : 'gRPC/TCP',
      inUse: transport === 'grpc-tcp' || transport === 'grpc-uds',
      // mTLS over TCP only; a Unix socket is protected by its file mode (ADR 15).
      tls: transport === 'grpc-tcp' && config.grpcTls !== undefined,
      metric: 'grpc_client_handling_seconds',
    },
    {
      link: 'inventory',
      transport: 'NATS request-reply',
      inUse: transport === 'nats',
      tls: natsTls,
      metric: 'nats_request_duration_seconds',
    },
    {
      link: 'JetStream ORDERS',
      transport: 'NATS JetStream',
      inUse: true,
      tls: natsTls,
      metric: 'outbox_published_total',
    },
  ];
}
