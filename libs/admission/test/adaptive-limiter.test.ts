import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '@switchboard/errors';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  createAdaptiveLimiter,
  createGradientLimit,
  runAdmitted,
  type AdaptiveLimiterOptions,
} from '../src/index.js';

/** A limiter on a clock the test moves; the work itself is real async work. */
function limiterWith(overrides: Partial<AdaptiveLimiterOptions> = {}) {
  const clock = { ms: 0 };
  const registry = new Registry();
  const limiter = createAdaptiveLimiter({
    name: 'test',
    registry,
    initialLimit: 20,
    minLimit: 2,
    maxLimit: 50,
    queueSize: 0,
    queueTimeoutMs: 1_000,
    now: () => clock.ms,
    ...overrides,
  });
  return { limiter, clock, registry };
}

/** A promise and the function that settles it: work the test finishes when it chooses. */
function gate<T = void>() {
  let open!: (value: T) => void;
  let fail!: (error: unknown) => void;
  const promise = new Promise<T>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

/** How a runAdmitted call ended: 'ok', or the AppError code it was refused with. */
const settle = (call: Promise<unknown>) =>
  call.then(
    () => 'ok',
    (error: unknown) => (error instanceof AppError ? error.code : String(error)),
  );

/** Work that does `effect` and resolves: a quick handler, as the limiter sees it. */
const quickWork =
  (effect: () => unknown = () => {}) =>
  () => {
    effect();
    return Promise.resolve();
  };

/** Lets pending acquisitions and callbacks run. */
const settleTurns = () => sleep(0);

/**
 * As many calls as the limit admits, started together, each taking `rttMs` on the clock: the
 * limiter is fully used, so every sample tells it something.
 */
async function wave(ctx: ReturnType<typeof limiterWith>, rttMs: number): Promise<string[]> {
  const work = gate();
  const calls = Array.from({ length: ctx.limiter.limit }, () =>
    settle(runAdmitted(ctx.limiter, () => work.promise)),
  );
  await settleTurns();
  ctx.clock.ms += rttMs;
  work.open();
  return Promise.all(calls);
}

async function waves(ctx: ReturnType<typeof limiterWith>, count: number, rttMs: number) {
  for (let i = 0; i < count; i++) expect(new Set(await wave(ctx, rttMs))).toEqual(new Set(['ok']));
}

async function metric(registry: Registry, name: string, labels: Record<string, string>) {
  const found = (await registry.getSingleMetric(name)!.get()).values.find((value) =>
    Object.entries(labels).every(([key, label]) => value.labels[key] === label),
  );
  return found?.value;
}

describe('the adaptive limit', () => {
  it('shrinks when latency rises well above the usual, and grows again when it recovers', async () => {
    const ctx = limiterWith();
    await waves(ctx, 20, 10);
    const steady = ctx.limiter.limit;
    expect(steady).toBeGreaterThanOrEqual(20);

    await waves(ctx, 5, 100);
    const congested = ctx.limiter.limit;
    expect(congested).toBeLessThan(steady / 2);

    await waves(ctx, 40, 10);
    expect(ctx.limiter.limit).toBeGreaterThan(congested * 2);
  });

  it('holds while latency stays within the tolerance of the usual', async () => {
    const ctx = limiterWith({ maxLimit: 20 });
    await waves(ctx, 20, 10);
    await waves(ctx, 20, 14);
    expect(ctx.limiter.limit).toBe(20);
  });

  it('does not grow on samples taken far below the limit (nothing learnt about it)', async () => {
    const ctx = limiterWith({ initialLimit: 10 });
    for (let i = 0; i < 50; i++) {
      const work = gate();
      const call = runAdmitted(ctx.limiter, () => work.promise);
      await settleTurns();
      ctx.clock.ms += 10;
      work.open();
      await call;
    }
    expect(ctx.limiter.limit).toBe(10);
  });

  it('shrinks at once when work below was dropped for overload, however fast it failed', async () => {
    const ctx = limiterWith({ initialLimit: 20 });
    for (let i = 0; i < 5; i++)
      await settle(
        runAdmitted(ctx.limiter, () => Promise.reject(new AppError('OVERLOADED', 'below'))),
      );
    expect(ctx.limiter.limit).toBe(11); // 20 × 0.9⁵ = 11.8
  });

  it('never leaves [minLimit, maxLimit], whatever the samples', () => {
    const limit = createGradientLimit({ initialLimit: 5, minLimit: 3, maxLimit: 40 });
    const seen: number[] = [];
    // Fast and slow calls, in and out of step with the limit, and drops, mixed.
    for (let i = 0; i < 5_000; i++) {
      if (i % 7 === 0) limit.onDrop();
      else limit.onSample(((i * 7919) % 997) + (i % 500 < 250 ? 0 : 5_000), (i * 31) % 80);
      seen.push(limit.value);
    }
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(3);
    expect(Math.max(...seen)).toBeLessThanOrEqual(40);
    // And it reaches both ends: steady fast calls at the limit, then drops only.
    for (let i = 0; i < 2_000; i++) limit.onSample(1, 1_000);
    expect(limit.value).toBe(40);
    for (let i = 0; i < 100; i++) limit.onDrop();
    expect(limit.value).toBe(3);
    expect(createGradientLimit({ initialLimit: 500, minLimit: 3, maxLimit: 40 }).value).toBe(40);
  });
});

describe('admission', () => {
  it('admits up to the limit and refuses the rest at once when there is no queue', async () => {
    const { limiter, registry } = limiterWith({ initialLimit: 3, minLimit: 3, maxLimit: 3 });
    const work = gate();
    const started: number[] = [];
    const calls = Array.from({ length: 5 }, (_, index) =>
      settle(
        runAdmitted(limiter, () => {
          started.push(index);
          return work.promise;
        }),
      ),
    );
    await settleTurns();
    expect(limiter.inFlight).toBe(3);
    expect(started).toEqual([0, 1, 2]);
    work.open();
    expect(await Promise.all(calls)).toEqual(['ok', 'ok', 'ok', 'OVERLOADED', 'OVERLOADED']);
    expect(limiter.inFlight).toBe(0);
    expect(await metric(registry, 'admission_requests_shed_total', { reason: 'limit' })).toBe(2);
    expect(await metric(registry, 'admission_requests_admitted_total', {})).toBe(3);
    expect(await metric(registry, 'admission_limit', { limiter: 'test' })).toBe(3);
  });

  it('queues in order of arrival, hands freed slots to the queue, and refuses when the queue is full', async () => {
    const { limiter, registry } = limiterWith({
      initialLimit: 1,
      minLimit: 1,
      maxLimit: 1,
      queueSize: 2,
    });
    const first = gate();
    const order: string[] = [];
    const running = settle(runAdmitted(limiter, () => first.promise));
    const queued = ['a', 'b'].map((name) =>
      settle(
        runAdmitted(
          limiter,
          quickWork(() => order.push(name)),
        ),
      ),
    );
    const refused = settle(
      runAdmitted(
        limiter,
        quickWork(() => order.push('c')),
      ),
    );
    expect(await refused).toBe('OVERLOADED');
    expect(limiter.queued).toBe(2);
    expect(order).toEqual([]);
    first.open();
    expect(await Promise.all([running, ...queued])).toEqual(['ok', 'ok', 'ok']);
    expect(order).toEqual(['a', 'b']);
    expect(await metric(registry, 'admission_requests_shed_total', { reason: 'queue_full' })).toBe(
      1,
    );
    expect(await metric(registry, 'admission_queue_length', {})).toBe(0);
  });

  it('drops queued work whose wait runs out, without starting it', async () => {
    const { limiter, registry } = limiterWith({
      initialLimit: 1,
      minLimit: 1,
      maxLimit: 1,
      queueSize: 5,
      queueTimeoutMs: 20,
    });
    const first = gate();
    const running = settle(runAdmitted(limiter, () => first.promise));
    let started = false;
    const waiting = settle(
      runAdmitted(
        limiter,
        quickWork(() => (started = true)),
      ),
    );
    expect(await waiting).toBe('OVERLOADED');
    expect(started).toBe(false);
    expect(limiter.queued).toBe(0);
    first.open();
    await running;
    expect(limiter.inFlight).toBe(0);
    expect(await metric(registry, 'admission_requests_shed_total', { reason: 'limit' })).toBe(1);
  });

  it('drops queued work when its deadline leaves no time, before the queue wait ends', async () => {
    const { limiter, registry } = limiterWith({
      initialLimit: 1,
      minLimit: 1,
      maxLimit: 1,
      queueSize: 5,
      queueTimeoutMs: 60_000,
    });
    const first = gate();
    const running = settle(runAdmitted(limiter, () => first.promise));
    let started = false;
    const waiting = settle(
      runAdmitted(
        limiter,
        quickWork(() => (started = true)),
        { timeLeftMs: 30 },
      ),
    );
    // Settles on the deadline's 30 ms, not the queue's 60 s (the test would time out).
    expect(await waiting).toBe('OVERLOADED');
    expect(started).toBe(false);
    first.open();
    await running;
    expect(await metric(registry, 'admission_requests_shed_total', { reason: 'deadline' })).toBe(1);
  });

  it('refuses before starting work that cannot finish within its deadline, even with a slot free', async () => {
    const ctx = limiterWith();
    await waves(ctx, 3, 100); // a call takes about 100 ms now
    let started = false;
    const late = await settle(
      runAdmitted(
        ctx.limiter,
        quickWork(() => (started = true)),
        { timeLeftMs: 50 },
      ),
    );
    expect(late).toBe('OVERLOADED');
    expect(started).toBe(false);
    const inTime = await settle(runAdmitted(ctx.limiter, quickWork(), { timeLeftMs: 500 }));
    expect(inTime).toBe('ok');
    // The fastest recent call is the bound, not the average: one quick wave and 50 ms will do.
    await waves(ctx, 1, 10);
    const afterAQuickOne = await settle(runAdmitted(ctx.limiter, quickWork(), { timeLeftMs: 50 }));
    expect(afterAQuickOne).toBe('ok');
    expect(
      await metric(ctx.registry, 'admission_requests_shed_total', { reason: 'deadline' }),
    ).toBe(1);
  });

  it('frees the slot when the work fails, so no slot leaks', async () => {
    const { limiter } = limiterWith({ initialLimit: 2, minLimit: 2, maxLimit: 2 });
    for (let i = 0; i < 10; i++) {
      const outcome = await settle(
        runAdmitted(limiter, () => Promise.reject(new Error('a bug in the handler'))),
      );
      expect(outcome).toBe('Error: a bug in the handler');
    }
    expect(limiter.inFlight).toBe(0);
    expect(await settle(runAdmitted(limiter, quickWork()))).toBe('ok');
  });

  it('drops a queued request whose caller leaves, and frees the slot of a running one', async () => {
    const { limiter, registry } = limiterWith({
      initialLimit: 1,
      minLimit: 1,
      maxLimit: 1,
      queueSize: 5,
      queueTimeoutMs: 60_000,
    });
    const caller = new AbortController();
    // The running work stops when its caller leaves, as handlers do with their signal.
    const running = settle(
      runAdmitted(
        limiter,
        () =>
          new Promise((_, reject) =>
            caller.signal.addEventListener('abort', () =>
              reject(new AppError('CANCELLED', 'the caller left')),
            ),
          ),
        { signal: caller.signal },
      ),
    );
    let started = false;
    const waiting = settle(
      runAdmitted(
        limiter,
        quickWork(() => (started = true)),
        { signal: caller.signal },
      ),
    );
    await settleTurns();
    expect([limiter.inFlight, limiter.queued]).toEqual([1, 1]);
    caller.abort();
    expect(await Promise.all([running, waiting])).toEqual(['CANCELLED', 'CANCELLED']);
    expect(started).toBe(false);
    expect([limiter.inFlight, limiter.queued]).toEqual([0, 0]);
    expect(await metric(registry, 'admission_requests_shed_total', { reason: 'cancelled' })).toBe(
      1,
    );
  });

  it('counts a release once, however often it is called', async () => {
    const { limiter } = limiterWith({ initialLimit: 2, minLimit: 2, maxLimit: 2 });
    const [a, b] = await Promise.all([limiter.acquire(), limiter.acquire()]);
    if (!a?.admitted || !b?.admitted) throw new Error('expected both admitted');
    a.permit.release('ignored');
    a.permit.release('ignored');
    expect(limiter.inFlight).toBe(1);
    b.permit.release('success');
    expect(limiter.inFlight).toBe(0);
  });
});
