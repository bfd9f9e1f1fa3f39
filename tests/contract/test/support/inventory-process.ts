import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '@switchboard/testing';

export interface InventoryProcess extends AsyncDisposable {
  /** The ports inventory bound: it picks them itself (port 0), so no other process holds them. */
  grpcPort: number;
  opsPort: number;
  /** stdout and stderr so far (JSON log lines), for failure messages. */
  output(): string;
}

/**
 * The built inventory (`services/inventory/dist/main.js`) as its image runs it, with exactly
 * `env` and ports of its own choosing; resolves once it logs that it is ready (all three
 * transports serve) and /readyz answers 200.
 *
 * Why not pick free ports here and pass them in: a port free when we looked may be taken by
 * another process before inventory binds it (EADDRINUSE); the kernel's choice at bind is not.
 */
export async function startInventoryProcess(
  env: Record<string, string>,
): Promise<InventoryProcess> {
  const main = join(REPO_ROOT, 'services', 'inventory', 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [main], {
    // info: the "inventory ready" line names the ports it bound.
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', GRPC_PORT: '0', OPS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));

  const stop = async () => {
    if (!gone) child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (gone) throw new Error(`inventory exited before it was ready:\n${output}`);
    const ports = readyPorts(output);
    const status = ports
      ? await fetch(`http://127.0.0.1:${ports.opsPort}/readyz`).then(
          (response) => response.status,
          () => 0,
        )
      : 0;
    if (ports && status === 200) {
      return { ...ports, output: () => output, [Symbol.asyncDispose]: stop };
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`inventory was not ready within 60 s:\n${output}`);
    }
    await sleep(100);
  }
}

/** The ports of the "inventory ready" log line, once it is there. */
function readyPorts(output: string): { grpcPort: number; opsPort: number } | undefined {
  for (const line of output.split('\n')) {
    if (!line.includes('"inventory ready"')) continue;
    const { grpcPort, opsPort } = JSON.parse(line) as { grpcPort: number; opsPort: number };
    return { grpcPort, opsPort };
  }
  return undefined;
}
