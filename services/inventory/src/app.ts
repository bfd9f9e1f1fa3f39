import { setTimeout as sleep } from 'node:timers/promises';
import { InventoryServiceService } from '@switchboard/contracts';
import { createGrpcServer } from '@switchboard/grpc';
import { createLifecycle, type StopResult } from '@switchboard/lifecycle';
import { createOpsServer, type Logger } from '@switchboard/observability';
import type { Registry } from 'prom-client';
import { createDatabasePool, migrateDatabase } from './adapters/database.js';
import { createInventoryRepository } from './adapters/inventory-repository.js';
import { readSeedFile } from './adapters/seed-file.js';
import type { InventoryConfig } from './config.js';
import { createInventory } from './domain/inventory.js';
import { createInventoryHandlers } from './entry-points/grpc/inventory-handlers.js';

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
}

/**
 * The inventory process without its environment: no env, no signals, no exit, so tests build
 * it on port 0 and main.ts wires it to the real world.
 */
export function createApp({ config, logger, registry }: AppDeps): App {
  const lifecycle = createLifecycle({ logger, timeoutMs: config.shutdownTimeoutMs });
  // Most of what the deadline leaves after the readiness pause goes to calls in flight; the
  // rest is for closing the ops server and the pool.
  const drainGraceMs = Math.floor((config.shutdownTimeoutMs - config.shutdownDelayMs) * 0.8);
  let startCalled = false;

  /** Registers a stop right after its start; a stop that began meanwhile runs it at once. */
  async function started(name: string, stop: () => Promise<void> | void): Promise<void> {
    if (lifecycle.stopping) {
      await stop();
      throw new Error(`stopped while starting (at ${name})`);
    }
    lifecycle.onStop(name, stop);
  }

  async function start() {
    const pool = createDatabasePool({ url: config.databaseUrl, max: config.dbPoolMax, logger });
    await started('database pool', () => pool.end());
    await migrateDatabase(pool, logger);
    const repository = createInventoryRepository(pool);
    if (config.seedFile !== '') {
      const products = await readSeedFile(config.seedFile);
      await repository.seedProducts(products);
      logger.info({ file: config.seedFile, products: products.length }, 'products seeded');
    }

    // Up before gRPC (answering 503 until ready) and down after it, so /metrics and /readyz
    // stay served while the calls in flight drain.
    const ops = createOpsServer({
      host: config.opsHost,
      port: config.opsPort,
      registry,
      logger,
      checks: [
        {
          name: 'database',
          check: async () => {
            await pool.query('select 1');
          },
        },
      ],
    });
    const opsPort = await ops.start();
    await started('ops server', () => ops.stop());

    const grpc = createGrpcServer({ logger, registry });
    grpc.addService(InventoryServiceService, createInventoryHandlers(createInventory(repository)));
    const grpcPort = await grpc.listen(hostPort(config.grpcHost, config.grpcPort));
    await started('gRPC server', () => grpc.drain(drainGraceMs));

    ops.setReady(true);
    await started('readiness', async () => {
      // /readyz answers 503 first; the pause lets balancers see it before the drain begins.
      ops.setReady(false);
      await sleep(config.shutdownDelayMs);
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
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}

/** host:port, with an IPv6 host in brackets. */
function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}
