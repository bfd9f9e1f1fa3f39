/** One benchmark cell: `concurrency` callers in a loop, each waiting for its answer. */
export interface CellResult {
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** CPU time per call of the processes in the cell (client and server), in microseconds. */
  cpuMicrosPerCall: number;
  /**
   * Calls per second in each round's slice, in round order: the slices of one round of
   * several cells ran side by side in time, so their ratios cancel the machine's drift.
   */
  roundCallsPerSecond: number[];
  /** How far the rounds' rates spread: (max - min) / median, in percent. */
  spreadPercent: number;
}

/** Reads the CPU time (user + system, µs) some processes have used so far. */
export type CpuClock = () => number;

/**
 * What one cell has measured so far. A cell is measured in several short slices, taken in
 * turn with the other rows' slices (see `measureInterleaved`), and summed here.
 */
export class Cell {
  private readonly latencies: number[] = [];
  private readonly roundRates: number[] = [];
  private elapsedMs = 0;
  private errors = 0;
  private cpuMicros = 0;

  constructor(
    private readonly call: () => Promise<unknown>,
    private readonly concurrency: number,
    private readonly cpuClock: CpuClock,
  ) {}

  /** Runs the callers for `durationMs`; with `record` false it only warms up. */
  async run(durationMs: number, record = true): Promise<void> {
    const cpuAtStart = this.cpuClock();
    const slice = await callInLoop(this.call, this.concurrency, durationMs);
    if (record) {
      this.latencies.push(...slice.latencies);
      this.errors += slice.errors;
      this.roundRates.push(slice.latencies.length / (slice.elapsedMs / 1000));
      this.elapsedMs += slice.elapsedMs;
      this.cpuMicros += this.cpuClock() - cpuAtStart;
    }
  }

  result(): CellResult {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const at = (q: number) => percentile(sorted, q);
    return {
      callsPerSecond: Math.round(sorted.length / (this.elapsedMs / 1000)),
      p50Ms: round(at(0.5)),
      p99Ms: round(at(0.99)),
      errors: this.errors,
      cpuMicrosPerCall: Math.round((this.cpuMicros / Math.max(1, sorted.length)) * 10) / 10,
      roundCallsPerSecond: this.roundRates.map(Math.round),
      spreadPercent: spreadPercent(this.roundRates),
    };
  }
}

/** What `concurrency` callers did in one slice: each answered call's latency (ms), the failures. */
export interface Slice {
  latencies: number[];
  errors: number;
  elapsedMs: number;
}

/** `concurrency` callers in a closed loop for `durationMs`, each waiting for its answer. */
export async function callInLoop(
  call: () => Promise<unknown>,
  concurrency: number,
  durationMs: number,
): Promise<Slice> {
  const startedAt = performance.now();
  const endAt = startedAt + durationMs;
  const slice: Slice = { latencies: [], errors: 0, elapsedMs: 0 };
  const worker = async () => {
    while (performance.now() < endAt) {
      const callStartedAt = performance.now();
      try {
        await call();
        slice.latencies.push(performance.now() - callStartedAt);
      } catch {
        slice.errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  slice.elapsedMs = performance.now() - startedAt;
  return slice;
}

/**
 * Measures several cells for `durationMs` each, in `rounds` slices taken in turn (A B C, B C A,
 * C A B, ...), after a warm-up of each. On a shared machine the load drifts over seconds (other
 * processes, GC, JIT); cells measured side by side in time see the same drift, so their
 * ratio means something even when their absolute numbers move between runs.
 */
export async function measureInterleaved(
  cells: Cell[],
  options: { durationMs: number; rounds: number; warmupMs: number },
): Promise<CellResult[]> {
  for (const cell of cells) await cell.run(options.warmupMs, false);
  const sliceMs = options.durationMs / options.rounds;
  for (let round = 0; round < options.rounds; round += 1) {
    // Each round starts one cell later, so no cell always follows the same one (a cell whose
    // calls leave work behind, e.g. events to publish, would otherwise always slow the next).
    for (let k = 0; k < cells.length; k += 1) {
      await cells[(k + round) % cells.length]!.run(sliceMs);
    }
  }
  return cells.map((cell) => cell.result());
}

/** How far per-round rates spread: (max - min) / median, in whole percent. */
export function spreadPercent(rates: number[]): number {
  return Math.round(((Math.max(...rates) - Math.min(...rates)) / median(rates)) * 100);
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? sorted[middle]!
    : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
}

/**
 * How fast `a` ran relative to `b`, as the median of their per-round ratios: each round's two
 * slices ran minutes apart from other rounds' but seconds apart from each other, so the load
 * of a shared machine moves both alike and the ratio much less than either rate.
 */
export function pairedRatio(a: CellResult, b: CellResult): number {
  const ratios = a.roundCallsPerSecond.map((rate, round) => rate / b.roundCallsPerSecond[round]!);
  return median(ratios);
}

/** The value at quantile `q` (0..1) of values sorted in ascending order; NaN if none. */
export function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
