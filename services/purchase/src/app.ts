import { createAdaptiveLimiter } from '@switchboard/admission';
import { ORDERS_STREAM, STREAMS, connectBus, ensureStreams } from '@switchboard/bus';
import { createLifecycle } from '@switchboard/lifecycle';
import { createOpsServer } from '@switchboard/observability';
import type { Logger } from '@switchboard/observability';
import { createInventoryClient } from '@switchboard/inventory-client';
import { createCircuitBreaker } from '@switchboard/resilience';
import { createJetStreamOutboxRelay, createOutboxRetention } from '@switchboard/outbox';
import type { Registry } from 'prom-client';
import { createDatabasePool, migrateDatabase } from './adapters/database.js';
import { createBackgroundReleaser } from './adapters/background-releaser.js';
import { withCircuitBreaker } from './adapters/circuit-breaking-inventory-client.js';
import { createPostgresOrderStore } from './adapters/postgres-order-store.js';
import { databasePoolOptions, type PurchaseConfig } from './config.js';
import { createPurchaseService } from './domain/purchase-service.js';
import { createHttpServer } from './entry-points/http/http-server.js';

export interface PurchaseApp {
  /** Starts everything in order; returns the bound ports (port 0 in config picks free ones). */
  start(): Promise<{ httpPort: number; opsPort: number }>;
  /** Not ready -> delay -> stop ingress -> close egress -> close the database. */
  stop(): Promise<{ clean: boolean }>;
  /** /readyz answers 503 from now on: the last-resort handler's first step (ADR 0010). */
  setNotReady(): void;
  [Symbol.asyncDispose](): Promise<void>;
}

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
    lifecycle.onStop('database', () => pool.end());
    await migrateDatabase(pool, logger);

    // Events (docs/events.md): orders are written with their OrderConfirmed in the outbox;
    // the relay publishes it to JetStream, and keeps it while NATS is away.
    const bus = await connectBus({ servers: config.natsUrl, name: 'purchase', logger, registry });
    lifecycle.onStop('NATS connection', () => bus.drain());
    await ensureStreams(bus, STREAMS);
    const relay = await createJetStreamOutboxRelay({
      bus,
      pool,
      stream: ORDERS_STREAM.name,
      logger,
      registry,
      pollIntervalMs: config.outboxPollIntervalMs,
    });
    relay.start();
    lifecycle.onStop('outbox relay', () => relay.stop());
    // Published events are kept a while for operators, then deleted: the outbox stays small.
    // purchase consumes no stream into an inbox, so it has none to clean.
    const retention = createOutboxRetention({
      pool,
      logger: logger.child({ component: 'outbox-retention' }),
      registry,
      outboxRetentionMs: config.outboxRetentionHours * 60 * 60 * 1000,
      intervalMs: config.retentionIntervalMs,
    });
    retention.start();
    lifecycle.onStop('outbox retention', () => retention.stop());

    // INVENTORY_TARGET picks the transport (gRPC over TCP or UDS, NATS); nothing else changes.
    const inventory = withCircuitBreaker(
      createInventoryClient(config.inventoryTarget, {
        registry,
        logger,
        bus,
        keepaliveTimeMs: config.inventoryKeepaliveTimeMs,
      }),
      createCircuitBreaker({
        name: 'inventory',
        registry,
        logger,
        resetTimeoutMs: config.inventoryBreakerResetMs,
      }),
    );
    lifecycle.onStop('inventory client', () => inventory.close());

    // Failed purchases give their reservations back at once, in the background. It stops
    // after the public port (no purchase can schedule more) and before the inventory client.
    const releaser = createBackgroundReleaser({
      inventory,
      logger: logger.child({ component: 'reservation-releaser' }),
      registry,
    });
    lifecycle.onStop('reservation releaser', () => releaser.stop());

    const purchases = createPurchaseService({
      store: createPostgresOrderStore(pool, { onOutboxWritten: () => relay.wake() }),
      inventory,
      releaser,
      logger,
      reservationTtlSeconds: config.reservationTtlSeconds,
      keyLockMs: config.requestTimeoutMs * 2,
    });

    const ops = createOpsServer({
      host: config.opsHost,
      port: config.opsPort,
      registry,
      logger,
      checks: [
        { name: 'database', check: async () => void (await pool.query('SELECT 1')) },
        // Its critical peer: without inventory no purchase can succeed (grpc.health.v1 Check).
        {
          name: 'inventory',
          check: () => inventory.checkHealth({ deadline: new Date(Date.now() + 900) }),
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
    setNotReady = () => ops.setReady(false);
    lifecycle.onStop('ops server', () => ops.stop());

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
      requestTimeoutMs: config.requestTimeoutMs,
      keepAliveTimeoutMs: config.httpKeepAliveTimeoutMs,
    });
    await http.listen({ host: config.httpHost, port: config.httpPort });
    lifecycle.onStop('http server', () => http.close());
    const address = http.server.address();
    const httpPort = typeof address === 'object' && address ? address.port : config.httpPort;

    ops.setReady(true);
    // Registered last, so it runs first: turn not-ready and give the load balancer time to
    // notice before the listener closes.
    lifecycle.onStop('readiness', async () => {
      ops.setReady(false);
      await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
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
