import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createRetryAfter, type RetryAfterOptions } from '../src/index.js';

/** A Retry-After on a clock the test moves. */
function retryAfterWith(overrides: Partial<RetryAfterOptions> = {}) {
  const clock = { ms: 0 };
  const registry = new Registry();
  const retryAfter = createRetryAfter({
    name: 'test',
    registry,
    minSeconds: 1,
    maxSeconds: 30,
    returnsPerSecond: 100,
    now: () => clock.ms,
    ...overrides,
  });
  return { retryAfter, clock, registry };
}

/** Refuses `count` clients now; the Retry-After each was told. */
const refuseMany = (retryAfter: { refuse(): number }, count: number) =>
  Array.from({ length: count }, () => retryAfter.refuse());

describe('createRetryAfter', () => {
  it('tells a lone refused client the shortest wait', () => {
    const { retryAfter } = retryAfterWith();
    expect(retryAfter.refuse()).toBe(1);
    expect(retryAfter.away).toBe(1);
  });

  it('tells a growing crowd to wait longer, so that it comes back at the chosen rate', () => {
    const { retryAfter } = retryAfterWith({ returnsPerSecond: 100 });
    const told = refuseMany(retryAfter, 1_000);
    // The 100th client makes 100 away (1 s), the 101st 101 (2 s) ... the 1,000th 1,000 (10 s).
    expect(told[0]).toBe(1);
    expect(told[99]).toBe(1);
    expect(told[100]).toBe(2);
    expect(told[999]).toBe(10);
    // Coming back as told, those 1,000 return at no more than 100 a second.
    const returnsBySecond = new Map<number, number>();
    for (const seconds of told)
      returnsBySecond.set(seconds, (returnsBySecond.get(seconds) ?? 0) + 1);
    expect(Math.max(...returnsBySecond.values())).toBeLessThanOrEqual(100);
  });

  it('counts a client that comes back and is refused again once', () => {
    const { retryAfter, clock } = retryAfterWith({ returnsPerSecond: 100 });
    refuseMany(retryAfter, 300); // told 1, 2 and 3 s
    expect(retryAfter.away).toBe(300);
    // A second later the first 100 are back; refused again, they are still 300 in all.
    clock.ms = 1_000;
    expect(retryAfter.away).toBe(200);
    refuseMany(retryAfter, 100);
    expect(retryAfter.away).toBe(300);
    expect(retryAfter.refuse()).toBe(4);
  });

  it('falls back to the shortest wait by itself once the crowd has gone', () => {
    const { retryAfter, clock } = retryAfterWith({ returnsPerSecond: 10 });
    expect(Math.max(...refuseMany(retryAfter, 200))).toBe(20);
    clock.ms = 20_000;
    expect(retryAfter.away).toBe(0);
    expect(retryAfter.refuse()).toBe(1);
  });

  it('never tells more than the longest wait, and keeps counting past it', () => {
    const { retryAfter, clock } = retryAfterWith({ returnsPerSecond: 1, maxSeconds: 5 });
    expect(refuseMany(retryAfter, 50).at(-1)).toBe(5);
    expect(retryAfter.away).toBe(50);
    // All were told 5 s at most: after 5 s, every wait is over.
    clock.ms = 5_000;
    expect(retryAfter.away).toBe(0);
  });

  it('shows the Retry-After it would give and the clients away in its metrics', async () => {
    const { retryAfter, clock, registry } = retryAfterWith({ returnsPerSecond: 10 });
    refuseMany(retryAfter, 45);
    let metrics = await registry.metrics();
    expect(metrics).toMatch(/^admission_retry_after_seconds\{limiter="test"\} 5$/m);
    expect(metrics).toMatch(/^admission_refused_clients_away\{limiter="test"\} 45$/m);
    clock.ms = 60_000;
    metrics = await registry.metrics();
    expect(metrics).toMatch(/^admission_retry_after_seconds\{limiter="test"\} 1$/m);
    expect(metrics).toMatch(/^admission_refused_clients_away\{limiter="test"\} 0$/m);
  });
});
