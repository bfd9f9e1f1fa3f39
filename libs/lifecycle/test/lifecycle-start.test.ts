import { describe, expect, it } from 'vitest';
import { StoppedWhileStartingError, createLifecycle } from '../src/index.js';

const silent = { info: () => {}, error: () => {} };

describe('a stop that comes during the start', () => {
  it('stops what was started so far, then what finishes starting, and ends the start', async () => {
    const order: string[] = [];
    const lifecycle = createLifecycle({ logger: silent, timeoutMs: 1000 });
    await lifecycle.onStop('database', () => void order.push('database'));

    // A signal arrives while the server is starting.
    const result = await lifecycle.stop('SIGTERM');
    const late = lifecycle.onStop('server', () => void order.push('server'));

    await expect(late).rejects.toBeInstanceOf(StoppedWhileStartingError);
    await expect(late).rejects.toThrow('stopped while starting (at server)');
    expect(order).toEqual(['database', 'server']);
    expect(result).toEqual({ clean: true, timedOut: false, failed: [] });
  });
});
