import { describe, expect, it } from 'vitest';
import { createLifecycle } from '../src/index.js';

const silent = { info: () => {}, error: () => {} };

describe('lifecycle', () => {
  it('runs stops in the reverse order of registration', async () => {
    const order: string[] = [];
    const lifecycle = createLifecycle({ logger: silent, timeoutMs: 1000 });
    await lifecycle.onStop('database', () => void order.push('database'));
    await lifecycle.onStop('server', async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      order.push('server');
    });
    const result = await lifecycle.stop('test');
    expect(order).toEqual(['server', 'database']);
    expect(result).toEqual({ clean: true, timedOut: false, failed: [] });
  });

  it('keeps stopping after a failed stop and reports it', async () => {
    const order: string[] = [];
    const lifecycle = createLifecycle({ logger: silent, timeoutMs: 1000 });
    await lifecycle.onStop('database', () => void order.push('database'));
    await lifecycle.onStop('server', () => {
      throw new Error('boom');
    });
    const result = await lifecycle.stop('test');
    expect(order).toEqual(['database']);
    expect(result).toEqual({ clean: false, timedOut: false, failed: ['server'] });
  });

  it('gives up at the deadline when a stop hangs', async () => {
    const lifecycle = createLifecycle({ logger: silent, timeoutMs: 50 });
    await lifecycle.onStop('stuck', () => new Promise(() => {}));
    const result = await lifecycle.stop('test');
    expect(result.timedOut).toBe(true);
    expect(result.clean).toBe(false);
  });

  it('stops once however often it is asked', async () => {
    let calls = 0;
    const lifecycle = createLifecycle({ logger: silent, timeoutMs: 1000 });
    await lifecycle.onStop('counter', () => void calls++);
    await Promise.all([lifecycle.stop('a'), lifecycle.stop('b')]);
    expect(calls).toBe(1);
    expect(lifecycle.stopping).toBe(true);
  });
});
