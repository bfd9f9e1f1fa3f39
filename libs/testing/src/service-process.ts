import { spawn, type ChildProcess } from 'node:child_process';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** performance.now() when the process was seen to exit. */
  at: number;
}

export interface ServiceProcessOptions<Ready> {
  /** A name for messages: "inventory-a". */
  name: string;
  /** Defaults to this Node (`process.execPath`). */
  command?: string;
  args: string[];
  /** The child's whole environment: it inherits nothing, so a test's shell cannot leak in. */
  env: Record<string, string>;
  cwd?: string;
  /**
   * Called with each line the process writes (stdout and stderr); the first answer other than
   * `undefined` or `false` means "ready" and is returned as `ready`, e.g. the ports a service
   * bound, parsed from its ready log line.
   */
  ready: (line: string) => Ready | false | undefined;
  /** How long the process may take to print its ready line. Default 60 s. */
  timeoutMs?: number;
  /** How long disposal waits after SIGTERM before it sends SIGKILL. Default 10 s. */
  graceMs?: number;
}

export interface ServiceProcess<Ready> extends AsyncDisposable {
  readonly name: string;
  /** What `ready` returned for the ready line. */
  readonly ready: Ready;
  readonly child: ChildProcess;
  /** Settles when the process exits, however that happens. */
  readonly exited: Promise<ProcessExit>;
  /** Sends a real signal; returns performance.now() at the moment it was sent. */
  signal(signal: NodeJS.Signals): number;
  /** stdout and stderr so far, for failure messages. */
  output(): string;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_GRACE_MS = 10_000;

/**
 * Starts a process and resolves once it prints the line `ready` accepts. A process that exits
 * first, or is not ready in time, fails the start with its output (and is killed).
 * Disposing it sends SIGTERM, then SIGKILL if it is still running after `graceMs`.
 */
export async function startServiceProcess<Ready>(
  options: ServiceProcessOptions<Ready>,
): Promise<ServiceProcess<Ready>> {
  const { name } = options;
  const child = spawn(options.command ?? process.execPath, options.args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<ProcessExit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })),
  );
  let gone = false;
  void exited.then(() => (gone = true));

  let failStart!: (error: Error) => void;
  const readyValue = new Promise<Ready>((resolve, reject) => {
    failStart = reject;
    let isReady = false;
    // A chunk may end inside a line: keep the rest of each stream until its newline comes.
    const onData = (rest: { text: string }) => (chunk: string) => {
      output += chunk;
      if (isReady) return;
      const lines = (rest.text + chunk).split('\n');
      rest.text = lines.pop() ?? '';
      for (const line of lines) {
        const answer = options.ready(line);
        if (answer === undefined || answer === false) continue;
        isReady = true;
        resolve(answer);
        return;
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData({ text: '' }));
    child.stderr.setEncoding('utf8').on('data', onData({ text: '' }));
  });
  void exited.then((exit) =>
    failStart(
      new Error(`${name} exited (${exit.code ?? exit.signal}) before it was ready:\n${output}`),
    ),
  );
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timer = setTimeout(
    () => failStart(new Error(`${name} was not ready within ${timeoutMs} ms:\n${output}`)),
    timeoutMs,
  );

  const stop = async () => {
    if (gone) return;
    child.kill('SIGTERM');
    const grace = setTimeout(() => child.kill('SIGKILL'), options.graceMs ?? DEFAULT_GRACE_MS);
    await exited;
    clearTimeout(grace);
  };

  let ready: Ready;
  try {
    ready = await readyValue;
  } catch (error) {
    await stop();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return {
    name,
    ready,
    child,
    exited,
    signal(signal) {
      const at = performance.now();
      child.kill(signal);
      return at;
    },
    output: () => output,
    [Symbol.asyncDispose]: stop,
  };
}
