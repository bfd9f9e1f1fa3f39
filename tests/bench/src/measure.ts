/** One benchmark cell: `concurrency` callers in a loop for `durationMs`, each waiting for its answer. */
export interface CellResult {
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

export async function measure(
  call: () => Promise<unknown>,
  options: { concurrency: number; durationMs: number; warmupMs: number },
): Promise<CellResult> {
  const run = async (durationMs: number, latencies: number[] | undefined) => {
    let errors = 0;
    const endAt = performance.now() + durationMs;
    const worker = async () => {
      while (performance.now() < endAt) {
        const startedAt = performance.now();
        try {
          await call();
          latencies?.push(performance.now() - startedAt);
        } catch {
          errors += 1;
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    return errors;
  };
  // Warm up connections, JIT and pools, then measure.
  await run(options.warmupMs, undefined);
  const latencies: number[] = [];
  const startedAt = performance.now();
  const errors = await run(options.durationMs, latencies);
  const seconds = (performance.now() - startedAt) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return {
    callsPerSecond: Math.round(latencies.length / seconds),
    p50Ms: round(at(0.5)),
    p99Ms: round(at(0.99)),
    errors,
  };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
