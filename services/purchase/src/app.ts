import { createAdaptiveLimiter, createRetryAfter } from '@switchboard/admission';
import { connectBus, ensureStreams } from '@switchboard/bus';
import { ORDERS_STREAM } from '@switchboard/events';
import { becomeReady, createLifecycle, type StopResult } from '@switchboard/lifecycle';
import { createOpsServer } from '@switchboard/observability';
import type { Logger } from '@switchboard/observability';
import { createInventoryClient } from '@switchboard/inventory-client';
import { createCircuitBreaker } from '@switchboard/resilience';
import { startEventOutbox } from '@switchboard/outbox';
import { databasePoolOptions } from '@switchboard/postgres';
import { createSocketReport } from '@switchboard/sockets';
import type { Registry } from 'prom-client';
import { createDatabasePool, migrateDatabase } from './adapters/database.js';
import { createBackgroundReleaser } from './adapters/background-releaser.js';
import { withCircuitBreaker } from './adapters/circuit-breaking-inventory-client.js';
import { createPostgresOrderStore } from './adapters/postgres-order-store.js';
import type { PurchaseConfig } from './config.js';
import { purchaseSocketDeclaration, type BoundPorts } from './socket-declaration.js';
import { createPurchaseService } from './domain/purchase-service.js';
import { startLiveFeed } from './entry-points/live/live-sources.js';
import { withOrderNotifications } from './adapters/order-notifications.js';
import { createHttpServer } from './entry-points/http/http-server.js';

export interface PurchaseApp {
  /** Starts everything in order; returns the bound ports (port 0 in config picks free ones). */
  start(): Promise<{ httpPort: number; opsPort: number }>;
  /** Not ready -> delay -> stop ingress -> close egress -> close the database; runs once. */
  stop(): Promise<StopResult>;
  /** /readyz answers 503 from now on: the last-resort handler's first step (ADR 0010). */
  setNotReady(): void;
  [Symbol.asyncDispose](): Promise<void>;
}

const HOUR_MS = 60 * 60 * 1000;
/** How long the ops server waits for each readiness check (its own default, made explicit). */
const READINESS_CHECK_TIMEOUT_MS = 1_000;
/**
 * inventory's health check gets a deadline this much shorter than the check's timeout, so a
 * slow inventory shows in /readyz as its own DEADLINE_EXCEEDED rather than a bare timeout.
 */
const INVENTORY_CHECK_MARGIN_MS = 100;
/** Live feed clients send nothing; a message bigger than this closes their socket (1009). */
const LIVE_MAX_MESSAGE_BYTES = 1_024;

/** Builds purchase from its dependencies; no environment, no signals, no exit. */
export function createApp(deps: {
  config: PurchaseConfig;
  logger: Logger;
  registry: Registry;
}): PurchaseApp {
  const { config, logger, registry } = deps;
  const lifecycle = createLifecycle({ logger, timeoutMs: config.shutdownTimeoutMs });
  // Set once the ops server exists; before that there is no readiness to turn off.
  let setNotReady = () => {};

  async function start() {
    const pool = createDatabasePool({ ...databasePoolOptions(config), logger });
    await lifecycle.onStop('database', () => pool.end());
    await migrateDatabase(pool, logger);

    // Events (docs/events.md): orders are written with their OrderConfirmed in the outbox;
    // the relay publishes it to JetStream, and keeps it while NATS is away.
    const bus = await connectBus({
      servers: config.natsUrl,
      name: 'purchase',
      logger,
      registry,
      tls: config.natsTls,
    });
    await lifecycle.onStop('NATS connection', () => bus.drain());
    // The stream purchase writes to; inventory's are its own (ADR 6).
    await ensureStreams(bus, [ORDERS_STREAM], { replicas: config.natsStreamReplicas });
    // Published events are kept a while for operators, then deleted: the outbox stays small.
    // purchase consumes no stream into an inbox, so it has none to clean.
    const relay = await startEventOutbox({
      bus,
      pool,
      stream: ORDERS_STREAM.name,
      logger,
      registry,
      pollIntervalMs: config.outboxPollIntervalMs,
      outboxRetentionMs: config.outboxRetentionHours * HOUR_MS,
      retentionIntervalMs: config.retentionIntervalMs,
      lifecycle,
    });

    // INVENTORY_TARGET picks the transport (gRPC over TCP or UDS, NATS); nothing else changes.
    const inventory = withCircuitBreaker(
      createInventoryClient(config.inventoryTarget, {
        registry,
        logger,
        bus,
        keepaliveTimeMs: config.inventoryKeepaliveTimeMs,
        tls: config.grpcTls && { ...config.grpcTls, serverName: config.inventoryTlsServerName },
      }),
      createCircuitBreaker({
        name: 'inventory',
        registry,
        logger,
        resetTimeoutMs: config.inventoryBreakerResetMs,
      }),
    );
    await lifecycle.onStop('inventory client', () => inventory.close());

    // Failed purchases give their reservations back at once, in the background. It stops
    // after the public port (no purchase can schedule more) and before the inventory client.
    const releaser = createBackgroundReleaser({
      inventory,
      logger: logger.child({ component: 'reservation-releaser' }),
      registry,
    });
    await lifecycle.onStop('reservation releaser', () => releaser.stop());

    // The ports as configured until bound (port 0 picks one): /sockets declares the bound ones.
    const bound: BoundPorts = { httpPort: config.httpPort, opsPort: config.opsPort };
    // The live feed (ADR 21): its state from inventory and the database, then every change.
    const live = await startLiveFeed({
      config,
      logger,
      registry,
      bus,
      pool,
      inventory,
      ownSockets: () => createSocketReport(purchaseSocketDeclaration(config, bound)),
    });
    await lifecycle.onStop('live feed', () => live.stop());

    const purchases = createPurchaseService({
      // Each order saved is also a change of the live feed's order stream.
      store: withOrderNotifications(
        createPostgresOrderStore(pool, {
          onOutboxWritten: () => relay.wake(),
          batches: {
            maxBatch: config.batchMax,
            maxInFlight: config.batchesInFlight,
            registry,
          },
        }),
        (order) => live.feed.publish({ type: 'order', order }),
      ),
      inventory,
      releaser,
      logger,
      reservationTtlSeconds: config.reservationTtlSeconds,
      // A request holding its key ends within REQUEST_TIMEOUT_MS; twice that covers the
      // writes after inventory answered and a background release, before a retry may take
      // over the key of an owner that crashed.
      keyLockMs: config.requestTimeoutMs * 2,
    });

    const ops = createOpsServer({
      host: config.opsHost,
      port: config.opsPort,
      registry,
      logger,
      socketDeclaration: () => purchaseSocketDeclaration(config, bound),
      checkTimeoutMs: READINESS_CHECK_TIMEOUT_MS,
      checks: [
        { name: 'database', check: async () => void (await pool.query('SELECT 1')) },
        // Its critical peer: without inventory no purchase can succeed (grpc.health.v1 Check).
        {
          name: 'inventory',
          check: () =>
            inventory.checkHealth({
              deadline: new Date(
                Date.now() + READINESS_CHECK_TIMEOUT_MS - INVENTORY_CHECK_MARGIN_MS,
              ),
            }),
        },
        // Shown, not deciding: orders wait in the outbox while NATS is away, so purchase
        // keeps selling; taking it out of the balancer would turn a NATS outage into a full one.
        {
          name: 'nats',
          critical: false,
          check: () =>
            bus.isConnected() ? Promise.resolve() : Promise.reject(new Error('reconnecting')),
        },
      ],
    });
    const opsPort = await ops.start();
    bound.opsPort = opsPort;
    live.startPanels();
    setNotReady = () => ops.setReady(false);
    await lifecycle.onStop('ops server', () => ops.stop());

    const http = createHttpServer({
      logger,
      registry,
      purchases,
      inventory,
      limiter: createAdaptiveLimiter({
        name: 'purchase-api',
        registry,
        initialLimit: config.admissionInitialLimit,
        minLimit: config.admissionMinLimit,
        maxLimit: config.admissionMaxLimit,
        queueSize: config.admissionQueueSize,
        queueTimeoutMs: config.admissionQueueTimeoutMs,
      }),
      retryAfter: createRetryAfter({
        name: 'purchase-api',
        registry,
        minSeconds: 1,
        maxSeconds: config.admissionRetryAfterMaxSeconds,
        returnsPerSecond: config.admissionReturnsPerSecond,
      }),
      earlyRetries: config.admissionEarlyRetries,
      requestTimeoutMs: config.requestTimeoutMs,
      keepAliveTimeoutMs: config.httpKeepAliveTimeoutMs,
      edge: {
        headersTimeoutMs: config.httpHeadersTimeoutMs,
        requestTimeoutMs: config.httpRequestTimeoutMs,
        connectionsCheckIntervalMs: config.httpConnectionsCheckIntervalMs,
        maxHeaderSizeBytes: config.httpMaxHeaderSizeBytes,
        maxConnections: config.httpMaxConnections,
        rateLimitMax: config.httpRateLimitMax,
        rateLimitWindowMs: config.httpRateLimitWindowMs,
      },
      feed: live.feed,
      live: {
        maxClients: config.liveMaxClients,
        allowedOrigins: config.liveAllowedOrigins,
        maxMessageBytes: LIVE_MAX_MESSAGE_BYTES,
      },
    });
    await http.listen({
      host: config.httpHost,
      port: config.httpPort,
      // Connections the kernel has completed but purchase has not yet accepted wait here; a
      // burst of clients beyond it has its handshakes dropped and retried a second later.
      backlog: config.httpListenBacklog,
    });
    await lifecycle.onStop('http server', () => http.close());
    const address = http.server.address();
    const httpPort = typeof address === 'object' && address ? address.port : config.httpPort;
    bound.httpPort = httpPort;

    await becomeReady(lifecycle, {
      setReady: (ready) => ops.setReady(ready),
      shutdownDelayMs: config.shutdownDelayMs,
    });
    logger.info({ httpPort, opsPort, inventory: config.inventoryTarget }, 'purchase ready');
    return { httpPort, opsPort };
  }

  const app: PurchaseApp = {
    async start() {
      try {
        return await start();
      } catch (error) {
        await lifecycle.stop('start-up failed');
        throw error;
      }
    },
    stop: () => lifecycle.stop('stop requested'),
    setNotReady: () => setNotReady(),
    async [Symbol.asyncDispose]() {
      await app.stop();
    },
  };
  return app;
}
