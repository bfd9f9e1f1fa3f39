/**
 * purchase's own view of a benchmark step, from its /metrics (ops port 9464, scraped inside its
 * network namespace): how long its refusals took from the limiter's point of view, how late its
 * event loop ran, and how much CPU it used. Beside the clients' figures, they tell time spent
 * in purchase from time spent waiting for a core, in the kernel or in the load generator.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { histogramSumAndCount } from '@switchboard/testing';

const run = promisify(execFile);

export interface PurchaseView {
  /** The p99 of the refusals' time in admission (arrival at the limiter to refusal), as a bucket bound. */
  shedP99Ms: number | undefined;
  /** The p99 of the event loop's delay since the scrape before (prom-client resets it at each scrape). */
  eventLoopLagP99Ms: number | undefined;
  /** CPU purchase used, in percent of one core, over the step. */
  cpuPercent: number | undefined;
  /** The mean pause of its young-generation collections (scavenges) over the step: each stops the event loop. */
  minorGcMeanMs: number | undefined;
}

export interface Scrape {
  at: number;
  text: string;
}

/** /metrics of the purchase whose container has host PID `pid`. */
export async function scrapePurchase(pid: number): Promise<Scrape> {
  const { stdout } = await run(
    'nsenter',
    ['-t', String(pid), '-n', '--', 'curl', '-sf', 'http://127.0.0.1:9464/metrics'],
    { maxBuffer: 16 << 20 },
  );
  return { at: performance.now(), text: stdout };
}

/** What happened between two scrapes. */
export function purchaseViewBetween(before: Scrape, after: Scrape): PurchaseView {
  const seconds = (after.at - before.at) / 1000;
  const cpu = (scrape: Scrape) => sample(scrape.text, 'process_cpu_seconds_total');
  const cpuBefore = cpu(before);
  const cpuAfter = cpu(after);
  const lag = sample(after.text, 'nodejs_eventloop_lag_p99_seconds');
  const minorGc = (scrape: Scrape) =>
    histogramSumAndCount(scrape.text, 'nodejs_gc_duration_seconds', 'kind="minor"');
  const scavenges = minorGc(after).count - minorGc(before).count;
  return {
    shedP99Ms: shedP99Ms(before.text, after.text),
    eventLoopLagP99Ms: lag === undefined ? undefined : lag * 1000,
    cpuPercent:
      cpuBefore === undefined || cpuAfter === undefined
        ? undefined
        : ((cpuAfter - cpuBefore) / seconds) * 100,
    minorGcMeanMs:
      scavenges > 0 ? ((minorGc(after).sum - minorGc(before).sum) / scavenges) * 1000 : undefined,
  };
}

/** The value of a series without labels (or the first series of the family). */
function sample(text: string, name: string): number | undefined {
  const line = text
    .split('\n')
    .find((each) => each.startsWith(`${name} `) || each.startsWith(`${name}{`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

/** The bucket bound under which 99 % of the step's refusals were decided. */
function shedP99Ms(before: string, after: string): number | undefined {
  const buckets = (text: string) => {
    const counts = new Map<number, number>();
    const pattern =
      /^admission_queue_wait_seconds_bucket\{(?=[^}]*outcome="shed")[^}]*le="([^"]+)"[^}]*\} (\d+)$/gm;
    for (const match of text.matchAll(pattern)) {
      const bound = match[1] === '+Inf' ? Infinity : Number(match[1]);
      counts.set(bound, (counts.get(bound) ?? 0) + Number(match[2]));
    }
    return counts;
  };
  const start = buckets(before);
  const end = buckets(after);
  const bounds = [...end.keys()].sort((a, b) => a - b);
  const total = (end.get(Infinity) ?? 0) - (start.get(Infinity) ?? 0);
  if (total === 0) return undefined;
  // Buckets are cumulative: the first bound that holds 99 % of the step's refusals.
  const bound = bounds.find(
    (each) => (end.get(each) ?? 0) - (start.get(each) ?? 0) >= 0.99 * total,
  );
  return bound === undefined ? undefined : bound * 1000;
}
