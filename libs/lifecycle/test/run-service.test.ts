import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../src/index.js';

const FIXTURE = join(import.meta.dirname, 'fixtures/service.ts');
// Node runs the TypeScript fixture as it is; this hook maps the sources' `./x.js` imports to
// their `./x.ts`, as the compiler does.
const RESOLVE_TS = `data:text/javascript,${encodeURIComponent(`
  import { registerHooks } from 'node:module';
  registerHooks({
    resolve(specifier, context, next) {
      try {
        return next(specifier, context);
      } catch (error) {
        if (!specifier.startsWith('.') || !specifier.endsWith('.js')) throw error;
        return next(specifier.slice(0, -3) + '.ts', context);
      }
    },
  });
`)}`;

interface Exit {
  code: number | null;
  at: number;
}

/** Starts the fixture service as a real process, with the given settings in its environment. */
function startService(env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', RESOLVE_TS, FIXTURE], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const seen: { line: string; resolve: () => void }[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const waiter of seen) if (lines().includes(waiter.line)) waiter.resolve();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code) => resolve({ code, at: performance.now() })),
  );
  const lines = () => stdout.trim().split('\n');

  return {
    lines,
    exited,
    /** Resolves once the process printed `line`; fails if it exits first. */
    async printed(line: string): Promise<void> {
      const shown = new Promise<void>((resolve) => {
        seen.push({ line, resolve });
        if (lines().includes(line)) resolve();
      });
      const exitedFirst = exited.then(() => {
        throw new Error(`exited before printing "${line}":\n${stdout}\n${stderr}`);
      });
      await Promise.race([shown, exitedFirst]);
    },
    signal(signal: NodeJS.Signals): number {
      child.kill(signal);
      return performance.now();
    },
  };
}

describe('runService', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'on %s: stops in the reverse order of the start and exits 0',
    async (signal) => {
      const service = startService();
      await service.printed('ready');

      service.signal(signal);
      const exit = await service.exited;

      expect(exit.code).toBe(EXIT_CODES.stopped);
      const lines = service.lines();
      expect(lines).toContain('log: signal received: stopping');
      expect(lines.filter((line) => line.startsWith('stopped'))).toEqual([
        'stopped server',
        'stopped database',
      ]);
    },
  );

  it('runs afterStop once the app has stopped, before the exit', async () => {
    const service = startService({ STEP_MS: '200' });
    await service.printed('ready');

    service.signal('SIGTERM');
    const exit = await service.exited;

    expect(exit.code).toBe(EXIT_CODES.stopped);
    const lines = service.lines();
    expect(lines.slice(lines.indexOf('log: fixture stopped'))).toEqual([
      'log: fixture stopped',
      'after stop',
    ]);
  });

  it.each([
    ['SIGTERM', 'SIGTERM'],
    ['SIGTERM', 'SIGINT'],
    ['SIGINT', 'SIGTERM'],
  ] as const)(
    'on a second signal (%s, then %s) exits 130 at once, without waiting for the stop',
    async (first, second) => {
      // Each stop step takes 3 s: the graceful stop would take 6.
      const service = startService({ STOP_MS: '3000' });
      await service.printed('ready');

      service.signal(first);
      await service.printed('log: signal received: stopping');
      const secondAt = service.signal(second);
      const exit = await service.exited;

      expect(exit.code).toBe(EXIT_CODES.secondSignal);
      expect(exit.at - secondAt).toBeLessThan(1_500);
      expect(service.lines()).not.toContain('stopped server');
    },
  );

  it('on a signal during the start: stops what was started, starts nothing more, exits 0', async () => {
    // The second start step ("server") takes 1 s: the signal comes while it runs.
    const service = startService({ STEP_MS: '1000' });
    await service.printed('starting server');

    service.signal('SIGTERM');
    const exit = await service.exited;

    expect(exit.code).toBe(EXIT_CODES.stopped);
    const lines = service.lines();
    expect(lines).toContain('stopped database');
    // The server finished starting after the stop began: it was stopped at once, and the
    // start ended there, never ready.
    expect(lines).toContain('stopped server');
    expect(lines).toContain('log: stopped (it finished starting after the stop began)');
    expect(lines).not.toContain('ready');
    expect(lines).not.toContain('log: fixture failed to start');
  });

  it('on an uncaught exception: logs it, turns not ready, stops, exits 70', async () => {
    const service = startService({ CRASH: 'uncaught' });

    const exit = await service.exited;

    expect(exit.code).toBe(EXIT_CODES.fatal);
    expect(exit.code).toBe(70);
    const lines = service.lines();
    const fatalAt = lines.indexOf('log: fatal error: not ready, stopping, then exiting');
    expect(fatalAt).toBeGreaterThan(lines.indexOf('ready'));
    expect(lines.slice(fatalAt + 1, fatalAt + 2)).toEqual(['not ready']);
    expect(lines).toContain('stopped server');
    expect(lines).toContain('stopped database');
  });

  it('when the start fails: logs it, stops what was started, exits 1', async () => {
    const service = startService({ START_FAILS: '1' });

    const exit = await service.exited;

    expect(exit.code).toBe(EXIT_CODES.failed);
    const lines = service.lines();
    expect(lines).toContain('stopped database');
    expect(lines).toContain('log: fixture failed to start');
  });
});
