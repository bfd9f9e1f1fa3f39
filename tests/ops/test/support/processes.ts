import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '@switchboard/testing';

export type ServiceName = 'purchase' | 'inventory';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** performance.now() when the process was seen to exit. */
  at: number;
}

/** A service running as `node services/<name>/dist/main.js`, as its image runs it. */
export interface ServiceProcess {
  /** A name for messages: "inventory-a". */
  readonly name: string;
  readonly opsUrl: string;
  readonly exited: Promise<Exit>;
  /** Sends a real signal; returns performance.now() at the moment it was sent. */
  signal(signal: NodeJS.Signals): number;
  /** stdout and stderr so far (JSON log lines), for failure messages. */
  output(): string;
}

const running = new Set<ServiceProcess>();

/**
 * Starts a built service with exactly `env` (plus PATH) and resolves once its /readyz answers
 * 200. A process that exits first fails the start with its output.
 */
export async function startService(
  service: ServiceName,
  name: string,
  env: Record<string, string>,
): Promise<ServiceProcess> {
  const main = join(REPO_ROOT, 'services', service, 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [main], {
    cwd: join(REPO_ROOT, 'services', service),
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })),
  );
  const opsUrl = `http://127.0.0.1:${env.OPS_PORT}`;
  const processHandle: ServiceProcess = {
    name,
    opsUrl,
    exited,
    signal(signal) {
      const at = performance.now();
      child.kill(signal);
      return at;
    },
    output: () => output,
  };
  running.add(processHandle);
  void exited.then(() => running.delete(processHandle));

  let exitedEarly: Exit | undefined;
  void exited.then((exit) => (exitedEarly = exit));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exitedEarly)
      throw new Error(`${name} exited (${exitedEarly.code}) before it was ready:\n${output}`);
    const status = await fetch(`${opsUrl}/readyz`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return processHandle;
    if (Date.now() > deadline) throw new Error(`${name} was not ready within 60 s:\n${output}`);
    await sleep(100);
  }
}

/** SIGKILLs whatever a test left running, so a failed test leaves no process behind. */
export async function killAll(): Promise<void> {
  const left = [...running];
  for (const each of left) each.signal('SIGKILL');
  await Promise.all(left.map((each) => each.exited));
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
