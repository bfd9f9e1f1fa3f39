import { createAdaptiveLimiter } from '@switchboard/admission';
import { connectBus, ensureStreams } from '@switchboard/bus';
import { DEAD_LETTER_STREAM, INVENTORY_STREAM } from '@switchboard/events';
import { InventoryServiceService } from '@switchboard/contracts';
import { createGrpcServer } from '@switchboard/grpc';
import { becomeReady, createLifecycle, type StopResult } from '@switchboard/lifecycle';
import { createOpsServer, type Logger } from '@switchboard/observability';
import { databasePoolOptions } from '@switchboard/postgres';
import { startEventOutbox } from '@switchboard/outbox';
import { prepareSocketPath, removeSocketFile, secureSocketFile } from '@switchboard/uds';
import type { Registry } from 'prom-client';
import { createDatabasePool, migrateDatabase } from './adapters/database.js';
import { groupCommitInBatches } from './adapters/group-commit.js';
import { createInventoryRepository } from './adapters/inventory-repository.js';
import { startStockChangeFeed } from './adapters/nats-stock-change-feed.js';
import { startStockTicks } from './adapters/udp-stock-ticks.js';
import { readSeedFile } from './adapters/seed-file.js';
import type { InventoryConfig } from './config.js';
import { inventorySocketDeclaration, type BoundPorts } from './socket-declaration.js';
import { createInventory } from './domain/inventory.js';
import { withAdmission } from './entry-points/admission.js';
import { createInventoryHandlers } from './entry-points/grpc/inventory-handlers.js';
import { startInventoryNatsService } from './entry-points/nats/nats-endpoints.js';
import { startOrderEventsConsumer } from './entry-points/nats/order-events-consumer.js';
import { startReservationSweeper } from './entry-points/timers/reservation-sweeper.js';

const HOUR_MS = 60 * 60 * 1000;
/**
 * The share of what SHUTDOWN_TIMEOUT_MS leaves after SHUTDOWN_DELAY_MS that calls in flight
 * get to drain; the rest is for the steps after the gRPC drain (NATS, the ops server, the pool).
 */
const DRAIN_SHARE_OF_STOP = 0.8;

export interface AppDeps {
  config: InventoryConfig;
  logger: Logger;
  registry: Registry;
}

export interface App extends AsyncDisposable {
  /** Starts everything; the ports are the bound ones (useful with port 0 in tests). */
  start(): Promise<{ grpcPort: number; opsPort: number }>;
  /** Stops what was started, in reverse order, inside SHUTDOWN_TIMEOUT_MS; runs once. */
  stop(): Promise<StopResult>;
  /**
   * /readyz answers 503 and gRPC health NOT_SERVING from now on: the last-resort handler's
   * first step (ADR 0010).
   */
  setNotReady(): void;
}

/**
 * The inventory process without its environment: no env, no signals, no exit, so tests build
 * it on port 0 and main.ts wires it to the real world.
 */
export function createApp({ config, logger, registry }: AppDeps): App {
  const lifecycle = createLifecycle({ logger, timeoutMs: config.shutdownTimeoutMs });
  const drainGraceMs = Math.floor(
    (config.shutdownTimeoutMs - config.shutdownDelayMs) * DRAIN_SHARE_OF_STOP,
  );
  let startCalled = false;
  // Set once the ops server exists; before that there is no readiness to turn off.
  let setNotReady = () => {};

  async function start() {
    const pool = createDatabasePool({ ...databasePoolOptions(config), logger });
    await lifecycle.onStop('database pool', () => pool.end());
    await migrateDatabase(pool, logger);

    // Events (docs/events.md): stock changes are written with their StockChanged in the
    // outbox; the relay publishes them to JetStream, and keeps them while NATS is away.
    const bus = await connectBus({
      servers: config.natsUrl,
      name: 'inventory',
      logger,
      registry,
      tls: config.natsTls,
    });
    await lifecycle.onStop('NATS connection', () => bus.drain());
    // The streams inventory writes to; ORDERS is purchase's (ADR 6).
    await ensureStreams(bus, [INVENTORY_STREAM, DEAD_LETTER_STREAM], {
      replicas: config.natsStreamReplicas,
    });
    // Neither table grows without bound: published events and applied message ids are
    // deleted once past their retention (an id only after ORDERS can no longer deliver it).
    const relay = await startEventOutbox({
      bus,
      pool,
      stream: INVENTORY_STREAM.name,
      logger,
      registry,
      pollIntervalMs: config.outboxPollIntervalMs,
      outboxRetentionMs: config.outboxRetentionHours * HOUR_MS,
      inboxRetentionMs: config.inboxRetentionHours * HOUR_MS,
      retentionIntervalMs: config.retentionIntervalMs,
      lifecycle,
    });

    const repository = createInventoryRepository(pool, { onOutboxWritten: () => relay.wake() });
    if (config.seedFile !== '') {
      const products = await readSeedFile(config.seedFile);
      await repository.seedProducts(products);
      logger.info({ file: config.seedFile, products: products.length }, 'products seeded');
    }

    // The ports as configured until bound (port 0 picks one): /sockets declares the bound ones.
    const bound: BoundPorts = { grpcPort: config.grpcPort, opsPort: config.opsPort };
    // Up before gRPC (answering 503 until ready) and down after it, so /metrics and /readyz
    // stay served while the calls in flight drain.
    const ops = createOpsServer({
      host: config.opsHost,
      port: config.opsPort,
      registry,
      logger,
      socketDeclaration: () => inventorySocketDeclaration(config, bound),
      checks: [
        {
          name: 'database',
          check: async () => {
            await pool.query('select 1');
          },
        },
        // Shown, not deciding: the gRPC API works without NATS (stock events wait in the
        // outbox, order events wait in the stream), so a NATS outage must not take it out.
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
    setNotReady = () => ops.setReady(false);
    await lifecycle.onStop('ops server', () => ops.stop());

    // One implementation, three transports (ADR 9): the same handlers serve gRPC over
    // TCP, gRPC over the Unix-domain socket and the NATS service.
    const inventory = createInventory(repository, {
      groupInBatches: groupCommitInBatches({
        maxBatch: config.batchMax,
        maxInFlight: config.batchesInFlight,
        registry,
      }),
    });
    // WatchStock streams follow the StockChanged events on one NATS subscription.
    const stockChanges = startStockChangeFeed(bus, registry);
    await lifecycle.onStop('stock change feed', () => stockChanges.stop());
    if (config.stockTicksTargets.length > 0) {
      const ticks = await startStockTicks({
        bus,
        targets: config.stockTicksTargets,
        heartbeatIntervalMs: config.stockTicksHeartbeatMs,
        registry,
        logger,
      });
      await lifecycle.onStop('stock ticks', () => ticks.stop());
    }
    // Admission control sized to the pool (ADR 11): a fixed limit of one call per connection.
    const limiter = createAdaptiveLimiter({
      name: 'inventory-api',
      registry,
      initialLimit: config.dbPoolMax,
      minLimit: config.dbPoolMax,
      maxLimit: config.dbPoolMax,
      queueSize: config.admissionQueueSize,
      queueTimeoutMs: config.admissionQueueTimeoutMs,
    });
    const handlers = withAdmission(createInventoryHandlers(inventory, stockChanges), limiter);
    const grpc = createGrpcServer({ logger, registry });
    grpc.addService(InventoryServiceService, handlers);
    // grpc.health.v1 says what /readyz says: NOT_SERVING until ready, when the database check
    // fails, and from the first moment of the stop.
    ops.onReadinessChange((ready) => grpc.setServing(ready));
    const socketPath = config.grpcSocketPath;
    if (socketPath !== '') {
      // Throws, naming the path, if a live process serves it; a crash's leftover is removed.
      await prepareSocketPath(socketPath, { logger });
      // Registered before the gRPC drain, so it runs after it: the file goes once no call uses it.
      await lifecycle.onStop('gRPC socket file', () => removeSocketFile(socketPath));
    }
    // mTLS when configured: inventory then serves only clients with a certificate from the CA.
    if (!config.grpcTls) logger.warn('gRPC over TCP without TLS: GRPC_TLS_* are not set');
    const grpcPort = await grpc.listen(hostPort(config.grpcHost, config.grpcPort), {
      tls: config.grpcTls,
    });
    bound.grpcPort = grpcPort;
    await lifecycle.onStop('gRPC server', () => grpc.drain(drainGraceMs));
    if (socketPath !== '') {
      await grpc.listen(`unix://${socketPath}`);
      await secureSocketFile(socketPath);
    }

    // Started only now and stopped first: a NATS request finds no responder (a quick
    // UNAVAILABLE) rather than an inventory that cannot serve it.
    const natsService = await startInventoryNatsService(bus, handlers);
    await lifecycle.onStop('NATS service', () => natsService.stop());

    // Confirmed orders commit their reservations; unconfirmed ones expire.
    const orderEvents = await startOrderEventsConsumer({
      bus,
      inventory,
      maxDeliveries: config.consumerMaxDeliveries,
      retryDelayMs: config.consumerRetryDelayMs,
    });
    await lifecycle.onStop('order events consumer', () => orderEvents.stop());
    const sweeper = startReservationSweeper({
      inventory,
      intervalMs: config.reservationSweepIntervalMs,
      logger,
      registry,
    });
    await lifecycle.onStop('reservation sweeper', () => sweeper.stop());

    // On a stop, /readyz answers 503 and grpc.health.v1 NOT_SERVING first; the pause lets
    // balancers and clients see it before the drain begins.
    await becomeReady(lifecycle, {
      setReady: (ready) => ops.setReady(ready),
      shutdownDelayMs: config.shutdownDelayMs,
    });
    logger.info({ grpcPort, opsPort }, 'inventory ready');
    return { grpcPort, opsPort };
  }

  const stop = () => lifecycle.stop('stop requested');

  return {
    async start() {
      if (startCalled) throw new Error('the app was already started');
      startCalled = true;
      try {
        return await start();
      } catch (error) {
        await lifecycle.stop('start failed');
        throw error;
      }
    },
    stop,
    setNotReady: () => setNotReady(),
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}

/** host:port, with an IPv6 host in brackets. */
function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}
