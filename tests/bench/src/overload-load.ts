/**
 * The load generator of `npm run bench:overload` and `npm run bench:purchase`: `connections`
 * clients, each sending POST /v1/purchases in a loop (closed loop: the next request after the
 * answer), every request under an Idempotency-Key of its own that no other run can have (the
 * run id is random), for one unit of a SKU picked at random from `skus`. Started by
 * load-runner.ts (overload.ts runs it inside purchase's network namespace, so it measures
 * purchase, not Docker's port proxy). Prints one JSON line: per status, the count and the
 * latency percentiles; with `recordCreated`, also every 201's order id and arrival time.
 *
 * Two kinds of client:
 * - `ignored`: a refused client asks again at once, as wrk and autocannon do; a retry storm.
 * - `honoured`: a refused client waits the Retry-After of its 503 (plus up to half of it
 *   again, so the refused do not all come back together), as a client of the API should.
 *
 * Answers to requests sent in the first `onsetMs` are counted apart: then the whole crowd
 * arrives at once, thousands of connections in the same millisecond, and what they measure is
 * mostly the kernel's accept queue. The rest is the steady state the goals are about.
 *
 * Input (argv[2], JSON): { url, connections, durationMs, onsetMs, runId, step, customerId, skus,
 * retryAfter, recordCreated }.
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { build, type Histogram } from 'hdr-histogram-js';
import { Client, errors as undiciErrors } from 'undici';

export interface LoadInput {
  url: string;
  connections: number;
  durationMs: number;
  /** The first part of `durationMs`, whose answers are counted apart (`onset`). */
  onsetMs: number;
  runId: string;
  /** Names the keys of this step, so no two steps of the run share one either. */
  step: string;
  customerId: string;
  /** Each purchase is one unit of one of these, picked at random. */
  skus: string[];
  /** What a client does after a 503 with Retry-After. */
  retryAfter: RetryAfter;
  /** Keep every 201's order id and arrival time (`created`), for checks against the databases. */
  recordCreated?: boolean;
}

/** A 201: the order it created, and when its answer arrived (ms since the epoch). */
export interface Created {
  orderId: string;
  at: number;
}

export type RetryAfter = 'ignored' | 'honoured';

export interface StatusStats {
  count: number;
  p50Ms: number;
  p99Ms: number;
}

export interface LoadOutput {
  /** Answers by HTTP status, to requests sent after the onset. */
  statuses: Record<string, StatusStats>;
  /** Answers by HTTP status, to requests sent during the onset. */
  onset: Record<string, StatusStats>;
  /** Requests that got no answer: connection errors, and autocannon's own timeouts. */
  errors: number;
  timeouts: number;
  /** Connections autocannon opened and kept. */
  connections: number;
  /** The measured window after the onset. */
  elapsedMs: number;
  /** The soft limit of open files this process ran with (the clients need one each). */
  maxOpenFiles: number;
  /** Every 201, with `recordCreated`; empty otherwise. */
  created: Created[];
  /**
   * This process's own event-loop delay (p99) and CPU over the run: the clients share the
   * machine's cores with the system, and an answer waits for the client's loop to be read, so
   * the latencies above include this lag.
   */
  client: { loopLagP99Ms: number; cpuPercent: number };
}

const input = JSON.parse(process.argv[2] ?? '{}') as LoadInput;

// Latencies in microseconds: shed answers are expected within milliseconds.
const steady = new Map<number, Histogram>();
const onset = new Map<number, Histogram>();
const histogramOf = (histograms: Map<number, Histogram>, status: number): Histogram => {
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
// A fresh key for every request, unique across runs: a repeated key would be a cheap replay of
// a stored answer and inflate the figures.
const nextKey = () => `bench-${input.runId}-${input.step}-${(sequence += 1)}`;
const bodies = input.skus.map((sku) =>
  JSON.stringify({ customerId: input.customerId, items: [{ sku, quantity: 1 }] }),
);
const nextBody = () => bodies[Math.floor(Math.random() * bodies.length)]!;
const created: Created[] = [];
/** Notes a 201's order (its body is the order) with the time it arrived. */
function recordCreated(statusCode: number, body: string): void {
  if (!input.recordCreated || statusCode !== 201) return;
  created.push({ orderId: (JSON.parse(body) as { orderId: string }).orderId, at: Date.now() });
}
// Longer than any deadline of purchase: an answer that never comes is its own count.
const TIMEOUT_MS = 30_000;

interface Run {
  errors: number;
  timeouts: number;
  connections: number;
  elapsedMs: number;
}

const startedAt = performance.now();
const ownLoopDelay = monitorEventLoopDelay({ resolution: 1 });
ownLoopDelay.enable();
const ownCpuAtStart = process.cpuUsage();

/** Every answer, whatever its status, with its own latency; apart if sent during the onset. */
function record(statusCode: number, latencyMs: number): void {
  const sentAt = performance.now() - latencyMs;
  const histograms = sentAt < startedAt + input.onsetMs ? onset : steady;
  histogramOf(histograms, statusCode).recordValue(Math.max(1, Math.round(latencyMs * 1000)));
}

/** Clients that ask again at once: autocannon, as fast as purchase answers. */
function clientsIgnoringRetryAfter(): Promise<Run> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: input.url,
        connections: input.connections,
        // autocannon counts in seconds; fractions are fine.
        duration: input.durationMs / 1000,
        timeout: TIMEOUT_MS / 1000,
        requests: [
          {
            method: 'POST',
            path: '/v1/purchases',
            setupRequest: (request) => ({
              ...request,
              headers: { 'content-type': 'application/json', 'idempotency-key': nextKey() },
              body: nextBody(),
            }),
            // autocannon reads the body only when asked for it.
            ...(input.recordCreated
              ? { onResponse: (status: number, body: string) => recordCreated(status, body) }
              : {}),
          },
        ],
      },
      (error: unknown, done: autocannon.Result) =>
        error
          ? reject(error instanceof Error ? error : new Error('autocannon failed'))
          : resolve({
              errors: done.errors - done.timeouts,
              timeouts: done.timeouts,
              connections: done.connections,
              elapsedMs: done.duration * 1000 - input.onsetMs,
            }),
    );
    // autocannon's summary keeps the latency of 2xx answers only.
    instance.on('response', (_client, statusCode, _bytes, responseTimeMs) =>
      record(statusCode, responseTimeMs),
    );
  });
}

/** Clients that wait as their 503 asks: one undici connection each, one request at a time. */
async function clientsHonouringRetryAfter(): Promise<Run> {
  const end = startedAt + input.durationMs;
  const run: Run = { errors: 0, timeouts: 0, connections: 0, elapsedMs: 0 };
  const oneClient = async () => {
    const client = new Client(input.url, {
      pipelining: 1,
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    });
    client.once('connect', () => (run.connections += 1));
    try {
      while (performance.now() < end) {
        const sent = performance.now();
        try {
          const answer = await client.request({
            method: 'POST',
            path: '/v1/purchases',
            headers: { 'content-type': 'application/json', 'idempotency-key': nextKey() },
            body: nextBody(),
          });
          const text = await answer.body.text();
          const answered = performance.now();
          // As autocannon does: only what is answered within the window counts.
          if (answered > end) break;
          record(answer.statusCode, answered - sent);
          recordCreated(answer.statusCode, text);
          const retryAfterS = Number(answer.headers['retry-after']);
          if (answer.statusCode === 503 && retryAfterS > 0) {
            const waitMs = retryAfterS * 1000 * (1 + Math.random() / 2);
            await sleep(Math.min(waitMs, end - performance.now()));
          }
        } catch (error) {
          if (error instanceof undiciErrors.HeadersTimeoutError) run.timeouts += 1;
          else run.errors += 1;
          // A refused or broken connection: undici reconnects on the next request.
          await sleep(Math.min(100, Math.max(0, end - performance.now())));
        }
      }
    } finally {
      await client.destroy();
    }
  };
  await Promise.all(Array.from({ length: input.connections }, oneClient));
  run.elapsedMs = input.durationMs - input.onsetMs;
  return run;
}

const run =
  input.retryAfter === 'honoured'
    ? await clientsHonouringRetryAfter()
    : await clientsIgnoringRetryAfter();

function statsOf(histograms: Map<number, Histogram>): Record<string, StatusStats> {
  const statuses: Record<string, StatusStats> = {};
  for (const [status, histogram] of [...histograms].sort(([a], [b]) => a - b)) {
    statuses[String(status)] = {
      count: histogram.totalCount,
      p50Ms: histogram.getValueAtPercentile(50) / 1000,
      p99Ms: histogram.getValueAtPercentile(99) / 1000,
    };
  }
  return statuses;
}
const output: LoadOutput = {
  statuses: statsOf(steady),
  onset: statsOf(onset),
  ...run,
  maxOpenFiles: softOpenFilesLimit(),
  created,
  client: {
    loopLagP99Ms: ownLoopDelay.percentile(99) / 1e6,
    cpuPercent: cpuMicros(process.cpuUsage(ownCpuAtStart)) / 10 / (performance.now() - startedAt),
  },
};
process.stdout.write(`${JSON.stringify(output)}\n`);

function cpuMicros(usage: NodeJS.CpuUsage): number {
  return usage.user + usage.system;
}

function softOpenFilesLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((each) => each.startsWith('Max open files'));
  return Number(line?.split(/\s{2,}/)[1] ?? NaN);
}
