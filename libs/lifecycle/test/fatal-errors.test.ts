import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FATAL_EXIT_CODE } from '../src/index.js';

const HANDLER = join(import.meta.dirname, '../src/fatal-errors.ts');

/**
 * Runs a real Node process that installs the handler as a main.ts does, with a stop that
 * takes `stopMs` (or never ends), then runs `crash`. Returns its exit code and what it printed.
 */
function crashingProcess(crash: string, options: { stopMs?: number; graceMs?: number } = {}) {
  const stop =
    options.stopMs === undefined
      ? 'new Promise(() => {})'
      : `new Promise((resolve) => setTimeout(() => { print('stopped'); resolve(); }, ${options.stopMs}))`;
  const script = `
    import { createFatalErrorHandler } from ${JSON.stringify(HANDLER)};
    const print = (line) => process.stdout.write(line + '\\n');
    const onFatal = createFatalErrorHandler({
      logger: { fatal: (object, message) => print('fatal: ' + message + ' (' + object.origin + ')') },
      setNotReady: () => print('not ready'),
      stop: () => ${stop},
      graceMs: ${options.graceMs ?? 2_000},
      exit: (code) => process.exit(code),
    });
    process.on('uncaughtException', (error) => onFatal(error, 'uncaughtException'));
    process.on('unhandledRejection', (reason) => onFatal(reason, 'unhandledRejection'));
    // The process would otherwise run on: a server keeps the event loop alive.
    setInterval(() => {}, 1_000);
    ${crash}
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: child.status, lines: child.stdout.trim().split('\n'), stderr: child.stderr };
}

describe('the last-resort handler', () => {
  it('on an unhandled rejection: logs it, turns not ready, stops, then exits with 70', () => {
    const { code, lines } = crashingProcess(
      `setTimeout(() => Promise.reject(new Error('boom')), 10);`,
      { stopMs: 50 },
    );
    expect(lines).toEqual([
      'fatal: fatal error: not ready, stopping, then exiting (unhandledRejection)',
      'not ready',
      'stopped',
    ]);
    expect(code).toBe(FATAL_EXIT_CODE);
  });

  it('on an uncaught exception: the same', () => {
    const { code, lines } = crashingProcess(`setTimeout(() => { throw new Error('boom'); }, 10);`, {
      stopMs: 50,
    });
    expect(lines[0]).toBe(
      'fatal: fatal error: not ready, stopping, then exiting (uncaughtException)',
    );
    expect(lines.slice(1)).toEqual(['not ready', 'stopped']);
    expect(code).toBe(FATAL_EXIT_CODE);
  });

  it('exits after the grace period when the stop never ends', () => {
    const started = Date.now();
    const { code, lines } = crashingProcess(`setTimeout(() => { throw new Error('boom'); }, 10);`, {
      graceMs: 300,
    });
    expect(lines).toEqual([
      'fatal: fatal error: not ready, stopping, then exiting (uncaughtException)',
      'not ready',
    ]);
    expect(code).toBe(FATAL_EXIT_CODE);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('exits at once on a second fatal error during the stop', () => {
    const { code, lines } = crashingProcess(
      `setTimeout(() => { throw new Error('first'); }, 10);
       setTimeout(() => { throw new Error('second'); }, 100);`,
    );
    expect(lines).toEqual([
      'fatal: fatal error: not ready, stopping, then exiting (uncaughtException)',
      'not ready',
      'fatal: another fatal error while stopping: exiting now (uncaughtException)',
    ]);
    expect(code).toBe(FATAL_EXIT_CODE);
  });
});
