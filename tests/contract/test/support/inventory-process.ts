import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '@switchboard/testing';

export interface InventoryProcess extends AsyncDisposable {
  /** stdout and stderr so far (JSON log lines), for failure messages. */
  output(): string;
}

/**
 * The built inventory (`services/inventory/dist/main.js`) as its image runs it, with exactly
 * `env`; resolves once /readyz answers 200, that is once all three transports serve.
 */
export async function startInventoryProcess(
  env: Record<string, string>,
): Promise<InventoryProcess> {
  const main = join(REPO_ROOT, 'services', 'inventory', 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [main], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
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
    const status = await fetch(`http://127.0.0.1:${env.OPS_PORT}/readyz`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`inventory was not ready within 60 s:\n${output}`);
    }
    await sleep(100);
  }
  return { output: () => output, [Symbol.asyncDispose]: stop };
}

/** A port nothing listens on right now, picked by the kernel. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== 'object' || !address) throw new Error('no free port');
  return address.port;
}
