import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createPeriodicWorker, type Pause, type WorkerLogger } from '../src/index.js';

const silent = { info: () => {}, error: () => {} };
const HOUR = 3_600_000;

/** A worker whose rounds are recorded; `round` says what each does. */
function recordedWorker(
  round: (count: number, signal: AbortSignal) => Promise<Pause>,
  onError: (error: unknown) => Pause = () => ({ ms: HOUR }),
  logger: WorkerLogger = silent,
) {
  let rounds = 0;
  const worker = createPeriodicWorker({
    name: 'test worker',
    logger,
    round: (signal) => round(++rounds, signal),
    onError,
  });
  return { worker, rounds: () => rounds };
}

describe('the periodic worker', () => {
  it('runs the first round at once, then one after each pause', async () => {
    const { worker, rounds } = recordedWorker(() => Promise.resolve({ ms: 50 }));

    worker.start();
    await sleep(10);
    expect(rounds()).toBe(1);
    await expect.poll(rounds).toBeGreaterThanOrEqual(3);
    await worker.stop();
  });

  it('goes on at once after a round that asks for no pause', async () => {
    const { worker, rounds } = recordedWorker((count) =>
      Promise.resolve({ ms: count < 5 ? 0 : HOUR }),
    );

    worker.start();

    await expect.poll(rounds).toBe(5);
    await worker.stop();
  });

  it('on stop during a round: waits for it, skips the pause, starts no other round', async () => {
    let finishRound = () => {};
    let signalOfRound: AbortSignal | undefined;
    const { worker, rounds } = recordedWorker((_count, signal) => {
      signalOfRound = signal;
      return new Promise((resolve) => (finishRound = () => resolve({ ms: HOUR })));
    });
    worker.start();
    await expect.poll(rounds).toBe(1);

    let stopped = false;
    const stopping = worker.stop().then(() => (stopped = true));
    await sleep(50);
    // The round in progress is told, and waited for.
    expect(signalOfRound?.aborted).toBe(true);
    expect(stopped).toBe(false);
    const startedAt = performance.now();
    finishRound();
    await stopping;

    // Not the hour of the pause.
    expect(performance.now() - startedAt).toBeLessThan(1_000);
    await sleep(50);
    expect(rounds()).toBe(1);
  });

  it('on stop during a pause: ends the pause at once', async () => {
    const { worker, rounds } = recordedWorker(() => Promise.resolve({ ms: HOUR }));
    worker.start();
    await expect.poll(rounds).toBe(1);

    const startedAt = performance.now();
    await worker.stop();

    expect(performance.now() - startedAt).toBeLessThan(1_000);
    expect(rounds()).toBe(1);
  });

  it('wake() ends a wakeable pause, but not a backoff that holds', async () => {
    const { worker, rounds } = recordedWorker((count) =>
      Promise.resolve(count === 1 ? { ms: HOUR } : { ms: HOUR, wakeable: false }),
    );
    worker.start();
    await expect.poll(rounds).toBe(1);

    worker.wake();
    await expect.poll(rounds).toBe(2);
    worker.wake();
    await sleep(100);

    expect(rounds()).toBe(2);
    await worker.stop();
  });

  it('a wake() during a round starts the next round at once instead of the pause', async () => {
    let finishRound = () => {};
    const { worker, rounds } = recordedWorker(
      (count) =>
        new Promise((resolve) => {
          if (count === 1) finishRound = () => resolve({ ms: HOUR });
          else resolve({ ms: HOUR });
        }),
    );
    worker.start();
    await expect.poll(rounds).toBe(1);

    // New work was announced while the first round ran: it may have missed it.
    worker.wake();
    finishRound();

    await expect.poll(rounds).toBe(2);
    await worker.stop();
  });

  it('logs and counts a round that throws, pauses as told, and goes on', async () => {
    const errors: unknown[] = [];
    const logged: string[] = [];
    const { worker, rounds } = recordedWorker(
      (count) =>
        count === 1 ? Promise.reject(new Error('database away')) : Promise.resolve({ ms: HOUR }),
      (error) => {
        errors.push(error);
        return { ms: 20 };
      },
      { info: () => {}, error: (_object, message) => void logged.push(message) },
    );

    worker.start();

    await expect.poll(rounds).toBe(2);
    expect(errors).toEqual([new Error('database away')]);
    expect(logged).toEqual(['test worker: round failed; trying again later']);
    await worker.stop();
  });

  it('stops at once when it was never started', async () => {
    const { worker, rounds } = recordedWorker(() => Promise.resolve({ ms: HOUR }));

    await worker.stop();

    expect(rounds()).toBe(0);
  });
});
