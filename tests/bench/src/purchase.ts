/**
 * `npm run bench:purchase` (issue 14): purchases end to end, `POST /v1/purchases` with a fresh
 * Idempotency-Key each, at several client counts, over each transport to inventory, for one
 * hot SKU and for SKUs spread over a catalog; beside, in the same run, the durable floor (the
 * same transactions straight through pg) and the transport ceiling (Fastify and the inventory
 * client on a canned inventory), and a per-stage breakdown of one purchase from its trace.
 * Every 201 is checked at the end against its stored order and committed reservation.
 * Prints the tables and saves everything as JSON under bench-results/ (gitignored).
 *
 * Environment (defaults run everything): BENCH_CLIENTS (1,8,64,256,1024), BENCH_TRANSPORTS
 * (grpc-tcp,grpc-uds,nats), BENCH_CATALOG (hot,spread), BENCH_SECONDS (10, per cell),
 * BENCH_CATALOG_SIZE (1000), BENCH_WARMUP_SECONDS (3), BENCH_BREAKDOWN_CLIENTS (1,64; empty:
 * none), BENCH_DRAIN_TIMEOUT_SECONDS (60).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startOtlpReceiver } from '@switchboard/testing';
import { durableFloor } from './durable-floor.js';
import { startLoad } from './load-runner.js';
import { Cell, percentile } from './measure.js';
import type { LoadInput, LoadOutput } from './overload-load.js';
import { connectChecks, type PurchaseChecks } from './purchase-checks.js';
import {
  printResults,
  saveResults,
  type BreakdownRow,
  type CatalogName,
  type CellRow,
  type FloorRow,
  type CeilingRow,
} from './purchase-report.js';
import {
  PROCESSES,
  TRANSPORTS,
  startTopology,
  type CpuReading,
  type SeedProduct,
  type Topology,
  type Transport,
} from './purchase-topology.js';
import { stageBreakdown } from './stage-breakdown.js';
import { startCeiling } from './transport-ceiling.js';

const list = (name: string, fallback: string) =>
  (process.env[name] ?? fallback)
    .split(',')
    .map((each) => each.trim())
    .filter((each) => each !== '');
const CLIENTS = list('BENCH_CLIENTS', '1,8,64,256,1024').map(Number);
const TRANSPORT_NAMES = list('BENCH_TRANSPORTS', TRANSPORTS.join(',')) as Transport[];
const CATALOGS = list('BENCH_CATALOG', 'hot,spread') as CatalogName[];
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CATALOG_SIZE = Number(process.env.BENCH_CATALOG_SIZE ?? 1000);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const BREAKDOWN_CLIENTS = list('BENCH_BREAKDOWN_CLIENTS', '1,64').map(Number);
const DRAIN_TIMEOUT_MS = Number(process.env.BENCH_DRAIN_TIMEOUT_SECONDS ?? 60) * 1000;
/** Postgres publishes a busy backend's counters at most once a second. */
const STATS_SETTLE_MS = 1_500;
/** The services' pools (DB_POOL_MAX's default): the floor uses the same. */
const POOL_MAX = 10;

for (const transport of TRANSPORT_NAMES) {
  if (!TRANSPORTS.includes(transport)) throw new Error(`unknown transport ${transport}`);
}
for (const catalog of CATALOGS as string[]) {
  if (catalog !== 'hot' && catalog !== 'spread') throw new Error(`unknown catalog ${catalog}`);
}

// Unique per run: a key repeated from another run would be a cheap replay (see overload-load.ts).
const runId = randomBytes(6).toString('hex');
const HOT_SKU = 'sku-hot';
const catalogSkus = Array.from(
  { length: CATALOG_SIZE },
  (_, index) => `sku-catalog-${String(index).padStart(5, '0')}`,
);
const products: SeedProduct[] = [
  { sku: HOT_SKU, name: 'Hot', onHand: 1_000_000_000 },
  ...catalogSkus.map((sku) => ({ sku, name: sku, onHand: 10_000_000 })),
];
const skusOf = (catalog: CatalogName) => (catalog === 'hot' ? [HOT_SKU] : catalogSkus);

function loadInput(
  url: string,
  step: string,
  connections: number,
  seconds: number,
  skus: string[],
  recordCreated = true,
): LoadInput {
  return {
    url,
    connections,
    durationMs: seconds * 1000,
    onsetMs: 0,
    runId,
    step,
    customerId: `bench-${runId}-${step}`,
    skus,
    retryAfter: 'ignored',
    recordCreated,
  };
}

/** Untimed first: the first requests pay for compiling and connecting. */
function warmUp(url: string, step: string): Promise<LoadOutput> {
  process.stderr.write(`${step}: ${WARMUP_SECONDS} s at 8 clients\n`);
  return startLoad(loadInput(url, step, 8, WARMUP_SECONDS, [HOT_SKU])).output;
}

/** Answers other than 201, and requests without one, by status: `503: 120, no answer: 2`. */
function errorsOf(output: LoadOutput): Record<string, number> {
  const errors: Record<string, number> = {};
  for (const [status, stats] of Object.entries({ ...output.statuses })) {
    if (status !== '201') errors[status] = stats.count;
  }
  if (output.errors > 0) errors['no answer'] = output.errors;
  if (output.timeouts > 0) errors.timeout = output.timeouts;
  return errors;
}

function cpuPerPurchase(before: CpuReading, after: CpuReading, purchases: number) {
  return Object.fromEntries(
    PROCESSES.map((name) => [name, (after[name] - before[name]) / 1000 / Math.max(1, purchases)]),
  ) as CpuReading;
}

/** Waits until every 201's reservation is committed (or the timeout); how long that took. */
async function drain(checks: PurchaseChecks, orderIds: string[]): Promise<number | undefined> {
  const started = performance.now();
  while ((await checks.committedCount(orderIds)) < orderIds.length) {
    if (performance.now() - started > DRAIN_TIMEOUT_MS) return undefined;
    await sleep(50);
  }
  return performance.now() - started;
}

async function measureCell(
  topology: Topology,
  checks: PurchaseChecks,
  url: string,
  transport: Transport,
  catalog: CatalogName,
  clients: number,
): Promise<CellRow> {
  const step = `${transport}-${catalog}-c${clients}`;
  process.stderr.write(`${step}: ${SECONDS} s\n`);
  const cpuBefore = topology.cpu();
  const commitsBefore = await checks.commits();
  const output = await startLoad(loadInput(url, step, clients, SECONDS, skusOf(catalog))).output;
  const orderIds = output.created.map(({ orderId }) => orderId);
  const backlog = orderIds.length - (await checks.committedCount(orderIds));
  const drainMs = backlog === 0 ? 0 : await drain(checks, orderIds);
  await sleep(STATS_SETTLE_MS);
  const cpuAfter = topology.cpu();
  const commits = (await checks.commits()) - commitsBefore;
  const verification = await checks.verify(output.created);
  const lags = verification.lagsMs.sort((a, b) => a - b);
  const created = output.statuses['201'];
  const purchases = created?.count ?? 0;
  return {
    transport,
    catalog,
    clients,
    purchasesPerSecond: purchases / (output.elapsedMs / 1000),
    p50Ms: created?.p50Ms ?? NaN,
    p99Ms: created?.p99Ms ?? NaN,
    purchases,
    errors: errorsOf(output),
    cpuMsPerPurchase: cpuPerPurchase(cpuBefore, cpuAfter, purchases),
    commitsPerPurchase: commits / Math.max(1, purchases),
    lagP50Ms: percentile(lags, 0.5),
    lagP99Ms: percentile(lags, 0.99),
    backlogAtEnd: backlog,
    drainMs,
    // Keeping up: what was still queued when the load stopped was committed within a second.
    keepsUp: drainMs !== undefined && drainMs <= 1_000,
    missingOrders: verification.missingOrders,
    uncommitted: verification.uncommitted,
  };
}

async function measureFloor(topology: Topology): Promise<FloorRow[]> {
  const floor = durableFloor({
    purchaseUrl: topology.databaseUrls.purchase,
    inventoryUrl: topology.databaseUrls.inventory,
    poolMax: POOL_MAX,
    runId,
  });
  const rows: FloorRow[] = [];
  try {
    for (const catalog of CATALOGS) {
      const skus = skusOf(catalog);
      for (const clients of CLIENTS) {
        process.stderr.write(`durable floor ${catalog} c${clients}: ${SECONDS} s\n`);
        const ownCpu = () => {
          const usage = process.cpuUsage();
          return usage.user + usage.system;
        };
        const cell = new Cell(
          () => floor.purchase(skus[Math.floor(Math.random() * skus.length)]!),
          clients,
          ownCpu,
        );
        await cell.run(1_000, false);
        const postgresBefore = topology.cpu().postgres;
        await cell.run(SECONDS * 1000);
        const result = cell.result();
        const purchases = (result.callsPerSecond * SECONDS) | 0;
        rows.push({
          catalog,
          clients,
          purchasesPerSecond: result.callsPerSecond,
          p50Ms: result.p50Ms,
          p99Ms: result.p99Ms,
          errors: result.errors,
          cpuMsPerPurchase: {
            floor: result.cpuMicrosPerCall / 1000,
            postgres: (topology.cpu().postgres - postgresBefore) / 1000 / Math.max(1, purchases),
          },
        });
      }
    }
  } finally {
    await floor.close();
  }
  return rows;
}

async function measureCeiling(topology: Topology, scratch: string): Promise<CeilingRow[]> {
  await using ceiling = await startCeiling(topology.natsUrl, scratch);
  const rows: CeilingRow[] = [];
  for (const transport of TRANSPORT_NAMES) {
    const edge = await ceiling.startEdge(transport);
    try {
      await warmUp(edge.url, `ceiling-warmup-${transport}`);
      for (const clients of CLIENTS) {
        const step = `ceiling-${transport}-c${clients}`;
        process.stderr.write(`${step}: ${SECONDS} s\n`);
        const before = ceiling.cpu();
        const output = await startLoad(
          loadInput(edge.url, step, clients, SECONDS, [HOT_SKU], false),
        ).output;
        const created = output.statuses['201'];
        const purchases = created?.count ?? 0;
        rows.push({
          transport,
          clients,
          purchasesPerSecond: purchases / (output.elapsedMs / 1000),
          p50Ms: created?.p50Ms ?? NaN,
          p99Ms: created?.p99Ms ?? NaN,
          errors: errorsOf(output),
          cpuMsPerPurchase: (ceiling.cpu() - before) / 1000 / Math.max(1, purchases),
        });
      }
    } finally {
      await edge.stop();
    }
  }
  return rows;
}

async function measureBreakdown(topology: Topology): Promise<BreakdownRow[]> {
  if (BREAKDOWN_CLIENTS.length === 0) return [];
  await using receiver = await startOtlpReceiver();
  const purchase = await topology.startPurchase('grpc-tcp', {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    OTEL_TRACES_SAMPLER: 'always_on',
  });
  const url = `http://127.0.0.1:${purchase.ready.httpPort}`;
  const rows: BreakdownRow[] = [];
  try {
    await warmUp(url, 'breakdown-warmup');
    // Its last spans arrive within the next batches (every 100 ms): not in the first row.
    await sleep(1_500);
    for (const clients of BREAKDOWN_CLIENTS) {
      const step = `breakdown-c${clients}`;
      const seconds = Math.min(SECONDS, 5);
      process.stderr.write(`${step} (traced, gRPC/TCP, hot SKU): ${seconds} s\n`);
      const from = receiver.spans().length;
      await startLoad(loadInput(url, step, clients, seconds, [HOT_SKU], false)).output;
      // The last batches of spans: sent every 100 ms.
      await sleep(1_500);
      rows.push({ clients, ...stageBreakdown(receiver.spans().slice(from)) });
    }
  } finally {
    await topology.stopPurchase();
  }
  return rows;
}

async function main() {
  const startedAt = new Date();
  const scratch = await mkdtemp(join(tmpdir(), 'bench-purchase-'));
  await using stack = new AsyncDisposableStack();
  stack.defer(() => rm(scratch, { recursive: true, force: true }));
  // Ctrl-C stops the processes and containers too.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void stack.disposeAsync().finally(() => process.exit(130)));
  }
  process.stderr.write(
    `starting postgres, nats and inventory (${products.length} products), run ${runId}\n`,
  );
  const topology = stack.use(await startTopology({ products, scratch }));
  const checks = await connectChecks(topology.databaseUrls);
  stack.defer(() => checks.close());

  const cells: CellRow[] = [];
  for (const transport of TRANSPORT_NAMES) {
    const purchase = await topology.startPurchase(transport);
    const url = `http://127.0.0.1:${purchase.ready.httpPort}`;
    process.stderr.write(`purchase over ${transport}\n`);
    const warmup = await warmUp(url, `warmup-${transport}`);
    await drain(
      checks,
      warmup.created.map(({ orderId }) => orderId),
    );
    for (const catalog of CATALOGS) {
      for (const clients of CLIENTS) {
        cells.push(await measureCell(topology, checks, url, transport, catalog, clients));
      }
    }
  }
  await topology.stopPurchase();

  const floor = await measureFloor(topology);
  const ceiling = await measureCeiling(topology, scratch);
  const breakdown = await measureBreakdown(topology);
  const stockMismatches = await checks.stockMismatches(products);

  const results = {
    at: startedAt.toISOString(),
    runId,
    settings: {
      clients: CLIENTS,
      transports: TRANSPORT_NAMES,
      catalogs: CATALOGS,
      seconds: SECONDS,
      catalogSize: CATALOG_SIZE,
    },
    cells,
    floor,
    ceiling,
    breakdown,
    stockMismatches,
  };
  printResults(results);
  console.log(`saved ${await saveResults(results, startedAt)}`);
}

await main();
