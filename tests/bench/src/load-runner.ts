/**
 * Starts the purchase load generator (overload-load.ts) in a process of its own, so its CPU is
 * not the bench's, with its open-files limit raised to the hard limit (one socket per client),
 * optionally inside another process's network namespace (`nsenter`, for a service in a
 * container: its loopback, not Docker's port proxy). Resolves with its JSON output.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadInput, LoadOutput } from './overload-load.js';

const loadScript = fileURLToPath(new URL('./overload-load.js', import.meta.url));

export interface LoadRun {
  /** The load generator's pid, while it runs (for its CPU time). */
  pid: number;
  output: Promise<LoadOutput>;
}

export function startLoad(input: LoadInput, options: { netnsPid?: number } = {}): LoadRun {
  // The limit is inherited through nsenter by node.
  const command =
    options.netnsPid === undefined
      ? 'ulimit -n "$(ulimit -Hn)" && exec "$1" "$2" "$3"'
      : 'ulimit -n "$(ulimit -Hn)" && exec nsenter -t "$0" -n -- "$1" "$2" "$3"';
  const child = spawn(
    'sh',
    [
      '-c',
      command,
      String(options.netnsPid ?? ''),
      process.execPath,
      loadScript,
      JSON.stringify(input),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const output = new Promise<LoadOutput>((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited with ${code}`));
      const result = JSON.parse(stdout) as LoadOutput;
      if (result.maxOpenFiles < input.connections + 100) {
        return reject(
          new Error(
            `the load generator may open only ${result.maxOpenFiles} files, too few for ${input.connections} clients: raise the hard limit (ulimit -Hn)`,
          ),
        );
      }
      resolve(result);
    });
  });
  return { pid: child.pid!, output };
}
