/**
 * The load generator of `npm run bench:overload`: `connections` clients, each sending
 * POST /v1/purchases in a loop (closed loop: the next request after the answer), every request
 * under an Idempotency-Key of its own that no other run can have (the run id is random). Run
 * inside purchase's network namespace by overload.ts, so it measures purchase, not Docker's
 * port proxy. Prints one JSON line: per status, the count and the latency percentiles.
 *
 * Input (argv[2], JSON): { url, connections, durationMs, runId, step, customerId, sku }.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { build, type Histogram } from 'hdr-histogram-js';

export interface LoadInput {
  url: string;
  connections: number;
  durationMs: number;
  runId: string;
  /** Names the keys of this step, so no two steps of the run share one either. */
  step: string;
  customerId: string;
  sku: string;
}

export interface StatusStats {
  count: number;
  p50Ms: number;
  p99Ms: number;
}

export interface LoadOutput {
  /** Answers by HTTP status. */
  statuses: Record<string, StatusStats>;
  /** Requests that got no answer: connection errors, and autocannon's own timeouts. */
  errors: number;
  timeouts: number;
  /** Connections autocannon opened and kept. */
  connections: number;
  /** The measured window, as autocannon timed it. */
  elapsedMs: number;
  /** The soft limit of open files this process ran with (the clients need one each). */
  maxOpenFiles: number;
}

const input = JSON.parse(process.argv[2] ?? '{}') as LoadInput;

// Latencies in microseconds: shed answers are expected within milliseconds.
const histograms = new Map<number, Histogram>();
const histogramOf = (status: number): Histogram => {
  let histogram = histograms.get(status);
  if (!histogram) {
    histogram = build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 600_000_000,
      numberOfSignificantValueDigits: 3,
    });
    histograms.set(status, histogram);
  }
  return histogram;
};

let sequence = 0;
const body = JSON.stringify({
  customerId: input.customerId,
  items: [{ sku: input.sku, quantity: 1 }],
});
const result = await new Promise<autocannon.Result>((resolve, reject) => {
  const instance = autocannon(
    {
      url: input.url,
      connections: input.connections,
      // autocannon counts in seconds; fractions are fine.
      duration: input.durationMs / 1000,
      // Longer than any deadline of purchase: an answer that never comes is its own count.
      timeout: 30,
      requests: [
        {
          method: 'POST',
          path: '/v1/purchases',
          // A fresh key for every request, unique across runs: a repeated key would be a cheap
          // replay of a stored answer and inflate the figures.
          setupRequest: (request) => ({
            ...request,
            headers: {
              'content-type': 'application/json',
              'idempotency-key': `bench-${input.runId}-${input.step}-${(sequence += 1)}`,
            },
            body,
          }),
        },
      ],
    },
    (error: unknown, done: autocannon.Result) =>
      error
        ? reject(error instanceof Error ? error : new Error('autocannon failed'))
        : resolve(done),
  );
  // Every answer, whatever its status, with its own latency: autocannon's summary keeps the
  // latency of 2xx answers only.
  instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
    histogramOf(statusCode).recordValue(Math.max(1, Math.round(responseTimeMs * 1000)));
  });
});

const statuses: Record<string, StatusStats> = {};
for (const [status, histogram] of [...histograms].sort(([a], [b]) => a - b)) {
  statuses[String(status)] = {
    count: histogram.totalCount,
    p50Ms: histogram.getValueAtPercentile(50) / 1000,
    p99Ms: histogram.getValueAtPercentile(99) / 1000,
  };
}
const output: LoadOutput = {
  statuses,
  errors: result.errors - result.timeouts,
  timeouts: result.timeouts,
  connections: result.connections,
  elapsedMs: result.duration * 1000,
  maxOpenFiles: softOpenFilesLimit(),
};
process.stdout.write(`${JSON.stringify(output)}\n`);

function softOpenFilesLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((each) => each.startsWith('Max open files'));
  return Number(line?.split(/\s{2,}/)[1] ?? NaN);
}
