import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, startServiceProcess, type ServiceProcess } from '@switchboard/testing';

/** The ports inventory bound: it picks them itself (port 0), so no other process holds them. */
export interface InventoryPorts {
  grpcPort: number;
  opsPort: number;
}

export type InventoryProcess = ServiceProcess<InventoryPorts>;

/**
 * The built inventory (`services/inventory/dist/main.js`) as its image runs it, with exactly
 * `env` and ports of its own choosing; resolves once it logs that it is ready (all three
 * transports serve, /readyz answers 200).
 *
 * Why not pick free ports here and pass them in: a port free when we looked may be taken by
 * another process before inventory binds it (EADDRINUSE); the kernel's choice at bind is not.
 */
export function startInventoryProcess(env: Record<string, string>): Promise<InventoryProcess> {
  const main = join(REPO_ROOT, 'services', 'inventory', 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
  return startServiceProcess({
    name: 'inventory',
    args: [main],
    // info: the "inventory ready" line names the ports it bound.
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', GRPC_PORT: '0', OPS_PORT: '0', ...env },
    ready: readyPorts,
  });
}

/** The ports of the "inventory ready" log line; undefined for any other line. */
function readyPorts(line: string): InventoryPorts | undefined {
  if (!line.includes('"inventory ready"')) return undefined;
  const { grpcPort, opsPort } = JSON.parse(line) as InventoryPorts;
  return { grpcPort, opsPort };
}
