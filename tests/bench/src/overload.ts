/**
 * `npm run bench:overload`: purchase under more clients than it can serve, on the compose
 * topology (postgres, nats, inventory, purchase). At each concurrency it counts what the
 * clients got (201s, shed 503s, 504s, ...) with the latency of each, then, after a pause,
 * the reservations left holding stock without an order. Prints a table and the issue's goals,
 * and saves everything as JSON under bench-results/. See README.md.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT, composeProject } from '@switchboard/testing';
import { startLoad } from './load-runner.js';
import type { LoadInput, LoadOutput, RetryAfter } from './overload-load.js';
import { judge, printSteps, type Goal, type Step } from './overload-report.js';
import { purchaseViewBetween, scrapePurchase } from './purchase-metrics.js';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 20_000);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 5_000);
/** The start of each step, while its crowd arrives, counted apart (see overload-load.ts). */
const ONSET_MS = Number(process.env.BENCH_ONSET_MS ?? 3_000);
/**
 * purchase's ADMISSION_RETRY_AFTER_MAX_SECONDS: after a step, its refused clients are still
 * counted away for this long and would lengthen the Retry-After of the next step's clients.
 */
const RETRY_AFTER_MAX_MS = 20_000;
/** How long after a step the reservations without an order are counted. */
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 10_000);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '64,256,1024,4096').split(',').map(Number);
/** The kinds of client to run every concurrency with (see overload-load.ts). */
const RETRY_AFTER = (process.env.BENCH_RETRY_AFTER ?? 'honoured,ignored').split(
  ',',
) as RetryAfter[];
const SKU = 'sku-bench';

const runId = randomUUID().slice(0, 8);
// A project of its own, and purchase's port published on a free host port (it is not used:
// the clients run inside purchase's network namespace), so a system already up is untouched.
const project = composeProject(`switchboard-bench-${runId}`, {
  PURCHASE_PUBLIC_PORT: '0',
  // The whole crowd comes from one address: admission control is measured, not the per-IP limit.
  HTTP_RATE_LIMIT_MAX: '0',
});

let tornDown = false;
function tearDown(): void {
  if (tornDown) return;
  tornDown = true;
  process.stderr.write(`\ntearing down compose project ${project.name}\n`);
  try {
    project.down();
  } catch (error) {
    process.stderr.write(`compose down failed: ${String(error)}\n`);
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    tearDown();
    process.exit(130);
  });
}

/** Runs the load generator inside purchase's network namespace (see load-runner.ts). */
function load(pid: number, input: LoadInput): Promise<LoadOutput> {
  return startLoad(input, { netnsPid: pid }).output;
}

/** Client connections to purchase's port that are established now, counted in its namespace. */
function establishedConnections(pid: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const child = spawn(
      'nsenter',
      ['-t', String(pid), '-n', '--', 'ss', '-Htn', 'state', 'established', '( sport = :8080 )'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let lines = 0;
    child.stdout.on('data', (chunk: Buffer) => (lines += chunk.toString().split('\n').length - 1));
    child.on('error', () => resolve(undefined));
    child.on('exit', (code) => resolve(code === 0 ? lines : undefined));
  });
}

/** RESERVED reservations of the bench SKU whose order purchase never stored. */
async function reservationsWithoutOrder(): Promise<string[]> {
  const reserved = await project.psql(
    'inventory',
    `SELECT r.order_id FROM reservations r JOIN reservation_items i USING (order_id)
     WHERE r.state = 'RESERVED' AND i.sku = '${SKU}'`,
  );
  const uuids = reserved.filter((id) => /^[0-9a-f-]{36}$/.test(id));
  const stored = new Set<string>();
  // In slices: one psql argument may not exceed 128 KiB.
  for (let at = 0; at < uuids.length; at += 1000) {
    const slice = uuids.slice(at, at + 1000);
    const rows = await project.psql(
      'purchase',
      `SELECT id FROM orders WHERE id IN (${slice.map((id) => `'${id}'`).join(',')})`,
    );
    for (const id of rows) stored.add(id);
  }
  return reserved.filter((id) => !stored.has(id));
}

async function storedOrders(customerId: string): Promise<number> {
  const [count] = await project.psql(
    'purchase',
    `SELECT count(*) FROM orders WHERE customer_id = '${customerId}'`,
  );
  return Number(count);
}

try {
  const startedAt = new Date();
  process.stderr.write(`run ${runId}: compose project ${project.name}\n`);
  await project.up(['postgres', 'nats', 'inventory', 'purchase']);
  // One SKU with stock for every purchase of the run, set up here: the seed is left alone.
  await project.psql(
    'inventory',
    `INSERT INTO products (sku, name) VALUES ('${SKU}', 'Bench') ON CONFLICT (sku) DO NOTHING;
     INSERT INTO stock (sku, on_hand) VALUES ('${SKU}', 2000000000)
     ON CONFLICT (sku) DO UPDATE SET on_hand = 2000000000, reserved = 0`,
  );
  const pid = await project.pidOf('purchase');
  const url = 'http://127.0.0.1:8080';
  const customerOf = (step: string) => `bench-${runId}-${step}`;

  process.stderr.write(`warm-up: ${WARMUP_MS} ms at 64 clients\n`);
  await load(pid, {
    url,
    connections: 64,
    durationMs: WARMUP_MS,
    onsetMs: 0,
    runId,
    step: 'warmup',
    customerId: customerOf('warmup'),
    skus: [SKU],
    retryAfter: 'honoured',
  });
  await sleep(SETTLE_MS);
  let orphansBefore = (await reservationsWithoutOrder()).length;

  const steps: Step[] = [];
  for (const retryAfter of RETRY_AFTER) {
    for (const clients of CONCURRENCY) {
      const step = `${retryAfter}-c${clients}`;
      const loadAverage = loadavg()[0]!;
      process.stderr.write(
        `${clients} clients, Retry-After ${retryAfter}, for ${DURATION_MS} ms (load ${loadAverage.toFixed(2)})\n`,
      );
      const before = await scrapePurchase(pid);
      const running = load(pid, {
        url,
        connections: clients,
        durationMs: DURATION_MS,
        onsetMs: ONSET_MS,
        runId,
        step,
        customerId: customerOf(step),
        skus: [SKU],
        retryAfter,
      });
      // Halfway through, every client should hold its connection.
      const open = sleep(DURATION_MS / 2).then(() => establishedConnections(pid));
      const [output, openConnections] = await Promise.all([running, open]);
      const stepEnded = performance.now();
      const purchaseView = purchaseViewBetween(before, await scrapePurchase(pid));
      // The answers are in; work purchase abandoned may still be releasing. Then count.
      await sleep(SETTLE_MS);
      const orphansNow = (await reservationsWithoutOrder()).length;
      steps.push({
        clients,
        retryAfter,
        ...output,
        openConnections,
        purchase: purchaseView,
        storedOrders: await storedOrders(customerOf(step)),
        reservationsWithoutOrder: orphansNow - orphansBefore,
        loadAverage,
      });
      orphansBefore = orphansNow;
      // The next step starts with no refused client of this one still counted away.
      await sleep(Math.max(0, stepEnded + RETRY_AFTER_MAX_MS - performance.now()));
    }
  }

  const goals: Goal[] = [];
  for (const retryAfter of RETRY_AFTER) {
    const ofKind = steps.filter((step) => step.retryAfter === retryAfter);
    console.log(`\nclients that get a 503 with Retry-After: ${retryAfter}`);
    printSteps(ofKind);
    const judged = judge(ofKind).map((goal) => ({ ...goal, name: `${retryAfter}: ${goal.name}` }));
    console.log('');
    for (const goal of judged) {
      console.log(`${goal.met ? 'MET   ' : 'MISSED'} ${goal.name}: ${goal.detail}`);
    }
    goals.push(...judged);
  }
  console.log(
    `\nmachine: ${cpus().length} CPUs, load average ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')} (shared: figures are noisy)`,
  );

  const directory = join(REPO_ROOT, 'bench-results');
  await mkdir(directory, { recursive: true });
  const file = join(directory, `overload-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(
    file,
    `${JSON.stringify(
      {
        at: startedAt.toISOString(),
        runId,
        node: process.version,
        cpus: cpus().length,
        inventoryTarget: process.env.INVENTORY_TARGET ?? 'dns:///inventory:50051',
        durationMsPerStep: DURATION_MS,
        warmupMs: WARMUP_MS,
        onsetMs: ONSET_MS,
        settleMs: SETTLE_MS,
        steps,
        goals,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`saved ${file}`);
} finally {
  tearDown();
}
