/** What timeCalls measured: the latency of each call that succeeded, and those that failed. */
export interface TimedCalls {
  calls: number;
  latencies: number[];
  failures: number;
  seconds: number;
}

/**
 * Makes calls, `concurrency` at a time, each caller starting the next when its call is done
 * (a closed loop, like clients with one request in flight), until `until(callsStarted)` says
 * stop. A call that throws counts as a failure.
 */
export async function timeCalls(
  call: (n: number) => Promise<unknown>,
  options: { concurrency: number; until: (callsStarted: number) => boolean },
): Promise<TimedCalls> {
  const latencies: number[] = [];
  let failures = 0;
  let started = 0;
  const startedAt = performance.now();
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (!options.until(started)) {
        const n = started++;
        const callStartedAt = performance.now();
        try {
          await call(n);
          latencies.push(performance.now() - callStartedAt);
        } catch {
          failures++;
        }
      }
    }),
  );
  return { calls: started, latencies, failures, seconds: (performance.now() - startedAt) / 1000 };
}

/** An `until` that stops after `ms` milliseconds from now. */
export function forMs(ms: number): () => boolean {
  const end = performance.now() + ms;
  return () => performance.now() >= end;
}
