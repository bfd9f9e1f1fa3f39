import { AppError } from '@switchboard/errors';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createCircuitBreaker, type CircuitBreaker } from '../src/index.js';

const silent = { info: () => {}, warn: () => {} };
const breakers: CircuitBreaker[] = [];
afterEach(() => {
  for (const breaker of breakers.splice(0)) breaker.close();
});

function breakerFor(registry = new Registry(), resetTimeoutMs = 200) {
  const breaker = createCircuitBreaker({
    name: 'inventory',
    registry,
    logger: silent,
    minimumCalls: 4,
    resetTimeoutMs,
  });
  breakers.push(breaker);
  return { breaker, registry };
}

const unavailable = () => Promise.reject(new AppError('UNAVAILABLE', 'inventory: not connected'));
const settle = (promise: Promise<unknown>) =>
  promise.then(
    () => 'ok',
    (error: unknown) => error,
  );

describe('circuit breaker', () => {
  it('opens after repeated peer failures, then refuses at once without calling the peer', async () => {
    const { breaker, registry } = breakerFor();
    for (let i = 0; i < 4; i++) await settle(breaker.run(unavailable));
    expect(breaker.state).toBe('open');

    let called = false;
    const refused = await settle(
      breaker.run(() => {
        called = true;
        return Promise.resolve('stock');
      }),
    );

    expect(called).toBe(false);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({
      code: 'UNAVAILABLE',
      message: 'inventory: circuit open after repeated failures',
    });
    const text = await registry.metrics();
    expect(text).toContain('circuit_breaker_state{breaker="inventory",state="open"} 1');
    expect(text).toContain('circuit_breaker_state{breaker="inventory",state="closed"} 0');
    expect(text).toContain('circuit_breaker_rejected_calls_total{breaker="inventory"} 1');
  });

  it('never opens on answers of a healthy peer, such as short stock or not found', async () => {
    const { breaker } = breakerFor();
    for (let i = 0; i < 10; i++) {
      const answer = await settle(
        breaker.run(() => Promise.reject(new AppError('INSUFFICIENT_STOCK', 'short'))),
      );
      expect(answer).toMatchObject({ code: 'INSUFFICIENT_STOCK' });
    }
    expect(breaker.state).toBe('closed');
  });

  it('closes by itself when the trial call after the reset timeout succeeds', async () => {
    const { breaker, registry } = breakerFor();
    for (let i = 0; i < 4; i++) await settle(breaker.run(unavailable));
    expect(breaker.state).toBe('open');

    await expect.poll(() => breaker.state).toBe('half_open');
    await expect(breaker.run(() => Promise.resolve('stock'))).resolves.toBe('stock');

    expect(breaker.state).toBe('closed');
    const text = await registry.metrics();
    expect(text).toContain('circuit_breaker_state{breaker="inventory",state="closed"} 1');
    expect(text).toContain(
      'circuit_breaker_transitions_total{breaker="inventory",state="half_open"} 1',
    );
  });

  it('opens again at once when the trial call fails', async () => {
    const { breaker } = breakerFor();
    for (let i = 0; i < 4; i++) await settle(breaker.run(unavailable));
    await expect.poll(() => breaker.state).toBe('half_open');

    await settle(breaker.run(unavailable));

    expect(breaker.state).toBe('open');
  });
});
