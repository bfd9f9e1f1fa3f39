import type { LoadOutput, RetryAfter, StatusStats } from './overload-load.js';
import type { PurchaseView } from './purchase-metrics.js';

/** One concurrency of the overload benchmark, as measured. */
export interface Step extends LoadOutput {
  clients: number;
  /** What the clients did after a 503. */
  retryAfter: RetryAfter;
  /** Established connections to purchase's port halfway through (undefined: `ss` missing). */
  openConnections: number | undefined;
  /** purchase's own view of the step, from its /metrics. */
  purchase: PurchaseView;
  /** Orders purchase stored for this step's customer: at least the 201s. */
  storedOrders: number;
  /** RESERVED reservations without an order, new since the step before, counted after the pause. */
  reservationsWithoutOrder: number;
  /** The machine's 1-minute load average when the step started. */
  loadAverage: number;
}

export interface Goal {
  name: string;
  met: boolean;
  detail: string;
}

const NONE: StatusStats = { count: 0, p50Ms: NaN, p99Ms: NaN };
const statusOf = (step: Step, status: number) => step.statuses[String(status)] ?? NONE;
const onsetOf = (step: Step, status: number) => step.onset[String(status)] ?? NONE;
export const goodputOf = (step: Step) => statusOf(step, 201).count / (step.elapsedMs / 1000);
const ms = (value: number) => (Number.isNaN(value) ? '-' : value.toFixed(value < 10 ? 1 : 0));

export function printSteps(steps: Step[]): void {
  const header = [
    'clients',
    'open',
    '201/s',
    '201 p50 ms',
    '201 p99 ms',
    '503',
    '503 p50 ms',
    '503 p99 ms',
    '504',
    'other',
    'no answer',
    'stored/201',
    'held w/o order',
    'onset 201',
    'onset 503',
    'onset 503 p99 ms',
    'purchase: shed p99 ms ≤',
    'loop lag p99 ms',
    'scavenge mean ms',
    'purchase: CPU %',
    'clients: loop lag p99 ms',
    'clients: CPU %',
    'load',
  ];
  const lines = steps.map((step) => {
    const ok = statusOf(step, 201);
    const shed = statusOf(step, 503);
    const others = Object.entries(step.statuses)
      .filter(([status]) => !['201', '503', '504'].includes(status))
      .map(([status, { count }]) => `${count}×${status}`);
    return [
      String(step.clients),
      step.openConnections === undefined ? '?' : String(step.openConnections),
      goodputOf(step).toFixed(0),
      ms(ok.p50Ms),
      ms(ok.p99Ms),
      String(shed.count),
      ms(shed.p50Ms),
      ms(shed.p99Ms),
      String(statusOf(step, 504).count),
      others.join(' ') || '0',
      String(step.errors + step.timeouts),
      `${step.storedOrders}/${ok.count + onsetOf(step, 201).count}`,
      String(step.reservationsWithoutOrder),
      String(onsetOf(step, 201).count),
      String(onsetOf(step, 503).count),
      ms(onsetOf(step, 503).p99Ms),
      ms(step.purchase.shedP99Ms ?? NaN),
      ms(step.purchase.eventLoopLagP99Ms ?? NaN),
      ms(step.purchase.minorGcMeanMs ?? NaN),
      step.purchase.cpuPercent === undefined ? '-' : step.purchase.cpuPercent.toFixed(0),
      ms(step.client.loopLagP99Ms),
      step.client.cpuPercent.toFixed(0),
      step.loadAverage.toFixed(1),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) =>
    `| ${cells.map((cell, i) => cell.padStart(widths[i]!)).join(' | ')} |`;
  console.log(format(header));
  console.log(`|${widths.map((w) => `${'-'.repeat(w + 1)}:`).join('|')}|`);
  for (const line of lines) console.log(format(line));
}

/** The issue's goals, from the steps of one run. */
export function judge(steps: Step[]): Goal[] {
  const best = Math.max(...steps.map(goodputOf));
  const goals: Goal[] = steps
    .filter((step) => step.clients >= 1024)
    .map((step) => ({
      name: `goodput at ${step.clients} clients >= 0.9 x best`,
      met: goodputOf(step) >= 0.9 * best,
      detail: `${goodputOf(step).toFixed(0)}/s vs best ${best.toFixed(0)}/s (${((goodputOf(step) / best) * 100).toFixed(0)} %)`,
    }));
  // Every 504 counts, the onset's too: no deadline may be missed at any point.
  const timeouts = steps.reduce(
    (sum, step) => sum + statusOf(step, 504).count + onsetOf(step, 504).count,
    0,
  );
  goals.push({ name: '504s = 0', met: timeouts === 0, detail: `${timeouts} in all` });
  // A client that ignores Retry-After is held until it is up (ADR 11): its 503's latency is
  // mostly the wait it was told and ignored. For it, purchase's own time to refuse is judged.
  const held = steps.some((step) => step.retryAfter === 'ignored');
  const shedP99 = Math.max(
    ...steps
      .map((step) => (held ? (step.purchase.shedP99Ms ?? NaN) : statusOf(step, 503).p99Ms))
      .filter((v) => !Number.isNaN(v)),
    -Infinity,
  );
  goals.push({
    name: held
      ? 'shed 503 p99 <= 50 ms in purchase (the clients wait out the Retry-After they ignored)'
      : 'shed 503 p99 <= 50 ms (after the onset)',
    met: shedP99 <= 50,
    detail: shedP99 === -Infinity ? 'no 503 at all' : `worst step ${shedP99.toFixed(1)} ms`,
  });
  const orphans = steps.reduce((sum, step) => sum + step.reservationsWithoutOrder, 0);
  goals.push({
    name: 'reservations without an order = 0',
    met: orphans === 0,
    detail: `${orphans} in all`,
  });
  const replays = steps.filter(
    (step) => step.storedOrders < statusOf(step, 201).count + onsetOf(step, 201).count,
  );
  goals.push({
    name: 'every 201 is a stored order',
    met: replays.length === 0,
    detail:
      replays.length === 0
        ? 'stored >= 201s at every step'
        : `fewer orders than 201s at ${replays.map((step) => step.clients).join(', ')} clients`,
  });
  return goals;
}
