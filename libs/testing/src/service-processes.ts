import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './compose-images.js';
import { startServiceProcess, type ServiceProcess } from './service-process.js';

/** The ports of inventory's "inventory ready" log line. */
export interface InventoryPorts {
  grpcPort: number;
  opsPort: number;
}

/** The ports of purchase's "purchase ready" log line. */
export interface PurchasePorts {
  httpPort: number;
  opsPort: number;
}

export type InventoryProcess = ServiceProcess<InventoryPorts>;
export type PurchaseProcess = ServiceProcess<PurchasePorts>;

/**
 * Inventory as its image runs it (`node services/inventory/dist/main.js`), with exactly `env`
 * (plus PATH); resolves once it logs that it is ready. It binds ports of its own choosing
 * unless `env` names them: a port a test found free may be taken by another process before
 * the service binds it (EADDRINUSE), the kernel's choice at bind cannot.
 */
export function startInventoryProcess(
  name: string,
  env: Record<string, string>,
  options: ServiceStartOptions = {},
): Promise<InventoryProcess> {
  return startService('inventory', name, { GRPC_PORT: '0', OPS_PORT: '0', ...env }, options);
}

/** Purchase as its image runs it; as `startInventoryProcess`, with its HTTP port in place of gRPC. */
export function startPurchaseProcess(
  name: string,
  env: Record<string, string>,
  options: ServiceStartOptions = {},
): Promise<PurchaseProcess> {
  return startService(
    'purchase',
    name,
    {
      HTTP_PORT: '0',
      OPS_PORT: '0',
      // All the load of the tests comes from one address: the per-client limit is not tested.
      HTTP_RATE_LIMIT_MAX: '0',
      ...env,
    },
    options,
  );
}

export interface ServiceStartOptions {
  /** Raise the open-files limit to the hard limit: one descriptor per client socket. */
  raiseOpenFilesLimit?: boolean;
}

/** The ops server's URL (/livez, /readyz, /metrics) of a started service. */
export function opsUrl(service: ServiceProcess<{ opsPort: number }>): string {
  return `http://127.0.0.1:${service.ready.opsPort}`;
}

function startService<Ports>(
  service: 'purchase' | 'inventory',
  name: string,
  env: Record<string, string>,
  options: ServiceStartOptions,
): Promise<ServiceProcess<Ports>> {
  const main = join(REPO_ROOT, 'services', service, 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
  return startServiceProcess({
    name,
    ...(options.raiseOpenFilesLimit
      ? {
          command: 'sh',
          args: ['-c', 'ulimit -n "$(ulimit -Hn)" && exec "$0" "$1"', process.execPath, main],
        }
      : { args: [main] }),
    cwd: join(REPO_ROOT, 'services', service),
    // info: the ready line names the ports the service bound.
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
    ready: (line) =>
      line.includes(`"${service} ready"`) ? (JSON.parse(line) as Ports) : undefined,
  });
}
