/**
 * The system bench:purchase measures: Postgres and NATS in containers (the compose images),
 * inventory and purchase as processes on this machine (their built dist/), so the CPU time of
 * each is readable (/proc/<pid>/stat, the containers' cgroups). The services reach Postgres and
 * NATS at the containers' own addresses on Docker's bridge, not through Docker's port proxy,
 * which would add a process and a copy to every query.
 *
 * inventory serves gRPC/TCP, gRPC/UDS and NATS at once; one purchase runs at a time, started
 * for one transport (`startPurchase`) and stopped before the next.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { startPostgres } from '@switchboard/testing';
import {
  createDatabase,
  startInventoryProcess,
  startPostgresAndNats,
  startPurchaseProcess,
  type InventoryProcess,
  type PurchaseProcess,
  type StartedNats,
} from '@switchboard/testing';
import { containerCpuMicros, processCpuMicros } from './cpu-clock.js';

export const TRANSPORTS = ['grpc-tcp', 'grpc-uds', 'nats'] as const;
export type Transport = (typeof TRANSPORTS)[number];

/** The processes whose CPU time a cell reports per purchase. */
export const PROCESSES = ['purchase', 'inventory', 'postgres', 'nats'] as const;
export type ProcessName = (typeof PROCESSES)[number];
export type CpuReading = Record<ProcessName, number>;

export interface Topology {
  /** Postgres URLs as the services use them (the container's bridge address); admin: another database. */
  databaseUrls: { purchase: string; inventory: string; admin: string };
  natsUrl: string;
  inventory: InventoryProcess;
  /** INVENTORY_TARGET for each transport. */
  inventoryTargets: Record<Transport, string>;
  /** Starts purchase for one transport (stopping the one before); env adds to the defaults. */
  startPurchase(transport: Transport, env?: Record<string, string>): Promise<PurchaseProcess>;
  stopPurchase(): Promise<void>;
  /** The CPU time (µs) each process has used so far; purchase's is 0 while none runs. */
  cpu(): CpuReading;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface SeedProduct {
  sku: string;
  name: string;
  onHand: number;
}

export async function startTopology(options: {
  products: SeedProduct[];
  scratch: string;
  /** Environment for both services (e.g. tracing). */
  env?: Record<string, string>;
}): Promise<Topology> {
  const stack = new AsyncDisposableStack();
  try {
    const [postgres, nats] = await startPostgresAndNats(stack, {
      // The commit time of every transaction, so the event lag is read from the reservation
      // row's own commit (pg_xact_commit_timestamp), not from a clock inside the transaction.
      // A machine busy with other work can take minutes to report Postgres healthy.
      postgres: { settings: { track_commit_timestamp: 'on' }, startupTimeoutMs: 600_000 },
    });
    const databaseUrls = {
      purchase: direct(postgres, await createDatabase(postgres, 'purchase'), 5432),
      inventory: direct(postgres, await createDatabase(postgres, 'inventory'), 5432),
      admin: direct(postgres, postgres.getConnectionUri(), 5432),
    };
    const natsUrl = direct(nats, nats.url, 4222);

    const seedFile = join(options.scratch, 'products.json');
    await writeFile(seedFile, JSON.stringify(options.products));
    const socketPath = join(options.scratch, 'inventory.sock');
    const inventory = stack.use(
      await startInventoryProcess('inventory', {
        ...options.env,
        DATABASE_URL: databaseUrls.inventory,
        NATS_URL: natsUrl,
        GRPC_HOST: '127.0.0.1',
        GRPC_SOCKET_PATH: socketPath,
        OPS_HOST: '127.0.0.1',
        SEED_FILE: seedFile,
        SHUTDOWN_DELAY_MS: '0',
      }),
    );
    const inventoryTargets: Record<Transport, string> = {
      'grpc-tcp': `dns:///127.0.0.1:${inventory.ready.grpcPort}`,
      'grpc-uds': `unix://${socketPath}`,
      nats: 'nats:inventory.v1',
    };

    let purchase: PurchaseProcess | undefined;
    const stopPurchase = async () => {
      await purchase?.[Symbol.asyncDispose]();
      purchase = undefined;
    };
    stack.defer(stopPurchase);
    const containerIds = { postgres: postgres.getId(), nats: nats.getId() };

    return {
      databaseUrls,
      natsUrl,
      inventory,
      inventoryTargets,
      stopPurchase,
      async startPurchase(transport, env = {}) {
        await stopPurchase();
        purchase = await startPurchaseProcess(
          `purchase-${transport}`,
          {
            ...options.env,
            ...env,
            DATABASE_URL: databaseUrls.purchase,
            NATS_URL: natsUrl,
            INVENTORY_TARGET: inventoryTargets[transport],
            HTTP_HOST: '127.0.0.1',
            OPS_HOST: '127.0.0.1',
            SHUTDOWN_DELAY_MS: '0',
          },
          // One socket per client, up to 1,024 and more.
          { raiseOpenFilesLimit: true },
        );
        return purchase;
      },
      cpu() {
        // The process sh execs into keeps sh's pid: it is purchase's.
        const purchasePid = purchase?.child.pid;
        return {
          purchase: purchasePid === undefined ? 0 : processCpuMicros(purchasePid),
          inventory: processCpuMicros(inventory.child.pid!),
          postgres: containerCpuMicros(containerIds.postgres),
          nats: containerCpuMicros(containerIds.nats),
        };
      },
      [Symbol.asyncDispose]: () => stack.disposeAsync(),
    };
  } catch (error) {
    await stack.disposeAsync();
    throw error;
  }
}

/** The URL with the container's address on its Docker network in place of the mapped port. */
function direct(
  container: Awaited<ReturnType<typeof startPostgres>> | StartedNats,
  url: string,
  port: number,
): string {
  const address = container.getIpAddress(container.getNetworkNames()[0]!);
  const parsed = new URL(url);
  parsed.hostname = address;
  parsed.port = String(port);
  return parsed.toString();
}
