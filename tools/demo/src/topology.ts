import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevCertificates } from '@switchboard/dev-certs';
import type { ClientTlsOptions, TlsFiles } from '@switchboard/grpc';
import {
  createDatabase,
  opsUrl,
  startInventoryProcess,
  startPurchaseProcess,
  type InventoryProcess,
  type PurchaseProcess,
  type SeedProduct,
  type ServiceProcess,
  startPostgresAndNats,
  type StartedNats,
} from '@switchboard/testing';
import { say } from './narrate.js';

/**
 * The system the demos run against, as the contract tests and benches run it: Postgres and
 * NATS in containers (the compose images), inventory and purchase as processes from their
 * built dist/, on loopback. inventory serves gRPC over TCP with mTLS (certificates made as
 * compose's dev-certs makes them), gRPC over a Unix socket, and NATS request-reply.
 */
export interface Topology {
  nats: StartedNats;
  inventory: InventoryProcess;
  /** INVENTORY_TARGET of each transport. */
  targets: { tcp: string; uds: string; nats: string };
  socketPath: string;
  /** purchase's side of mTLS to inventory (its certificate, inventory's name). */
  clientTls: ClientTlsOptions;
  /** inventory's certificate, key and CA: a server of the same identity. */
  serverTls: TlsFiles;
  /** psql in the Postgres container; the rows, unaligned. */
  psql(database: 'inventory' | 'purchase', sql: string): Promise<string[]>;
  /** purchase as a process, calling inventory over gRPC/TCP with mTLS; `env` adds to it. */
  startPurchase(env?: Record<string, string>): Promise<PurchaseProcess>;
}

const filesOf = (certsDir: string, service: string): TlsFiles => ({
  caFile: join(certsDir, service, 'ca.pem'),
  certFile: join(certsDir, service, 'cert.pem'),
  keyFile: join(certsDir, service, 'key.pem'),
});

/** Starts the topology; everything it starts goes on `stack`, stopped in reverse. */
export async function startTopology(
  stack: AsyncDisposableStack,
  products: SeedProduct[],
): Promise<Topology> {
  const scratch = await mkdtemp(join(tmpdir(), 'switchboard-demo-'));
  stack.defer(() => rm(scratch, { recursive: true, force: true }));
  const certsDir = join(scratch, 'certs');
  await ensureDevCertificates({
    caDir: join(scratch, 'ca'),
    certsDir,
    services: ['inventory', 'purchase'],
  });
  const serverTls = filesOf(certsDir, 'inventory');
  const clientTls = { ...filesOf(certsDir, 'purchase'), serverName: 'inventory' };

  say('Starting Postgres and NATS in containers...');
  const [postgres, nats] = await startPostgresAndNats(stack);
  const databases = {
    inventory: await createDatabase(postgres, 'inventory'),
    purchase: await createDatabase(postgres, 'purchase'),
  };

  say('Starting inventory (gRPC over TCP with mTLS, over a Unix socket, and over NATS)...');
  const seedFile = join(scratch, 'products.json');
  await writeFile(seedFile, JSON.stringify(products));
  const socketPath = join(scratch, 'inventory.sock');
  const inventory = stack.use(
    await startInventoryProcess('inventory', {
      DATABASE_URL: databases.inventory,
      NATS_URL: nats.url,
      GRPC_HOST: '127.0.0.1',
      GRPC_SOCKET_PATH: socketPath,
      GRPC_TLS_CA_FILE: serverTls.caFile,
      GRPC_TLS_CERT_FILE: serverTls.certFile,
      GRPC_TLS_KEY_FILE: serverTls.keyFile,
      OPS_HOST: '127.0.0.1',
      SEED_FILE: seedFile,
      SHUTDOWN_DELAY_MS: '0',
    }),
  );
  const targets = {
    tcp: `dns:///127.0.0.1:${inventory.ready.grpcPort}`,
    uds: `unix://${socketPath}`,
    nats: 'nats:inventory.v1',
  };
  say(`   inventory: gRPC on 127.0.0.1:${inventory.ready.grpcPort}, ops on ${opsUrl(inventory)}`);

  return {
    nats,
    inventory,
    targets,
    socketPath,
    clientTls,
    serverTls,
    async psql(database, sql) {
      const result = await postgres.exec([
        'psql',
        '-U',
        postgres.getUsername(),
        '-d',
        database,
        '-v',
        'ON_ERROR_STOP=1',
        '-tAc',
        sql,
      ]);
      if (result.exitCode !== 0) throw new Error(`psql failed: ${result.output}`);
      return result.stdout.split('\n').filter((line) => line !== '');
    },
    async startPurchase(env = {}) {
      say('Starting purchase (HTTP on loopback; inventory over gRPC/TCP with mTLS)...');
      const purchase = stack.use(
        await startPurchaseProcess('purchase', {
          DATABASE_URL: databases.purchase,
          NATS_URL: nats.url,
          INVENTORY_TARGET: targets.tcp,
          GRPC_TLS_CA_FILE: clientTls.caFile,
          GRPC_TLS_CERT_FILE: clientTls.certFile,
          GRPC_TLS_KEY_FILE: clientTls.keyFile,
          INVENTORY_TLS_SERVER_NAME: clientTls.serverName,
          HTTP_HOST: '127.0.0.1',
          OPS_HOST: '127.0.0.1',
          SHUTDOWN_DELAY_MS: '0',
          ...env,
        }),
      );
      say(`   purchase: HTTP on 127.0.0.1:${purchase.ready.httpPort}, ops on ${opsUrl(purchase)}`);
      return purchase;
    },
  };
}

/** The sum of a metric's samples in a service's /metrics (0 when it has none yet). */
export async function readMetric(
  service: ServiceProcess<{ opsPort: number }>,
  name: string,
): Promise<number> {
  const text = await (await fetch(`${opsUrl(service)}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}
