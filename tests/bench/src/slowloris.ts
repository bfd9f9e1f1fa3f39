/**
 * `npm run bench:slowloris`: purchase's public port against 10,000 slow sockets (ADR 18).
 * purchase runs as a process on loopback (no Docker port proxy between), inventory in its
 * container, on a real Postgres and NATS. Normal reads are timed alone first (the baseline),
 * then while the slow sockets hold on; each slow socket's close is compared with its timeout.
 * Prints a table and the issue's goals, and saves everything as JSON under bench-results/.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  REPO_ROOT,
  createDatabase,
  databaseUrlInNetwork,
  startInventory,
  startNats,
  startPostgres,
  startServiceProcess,
} from '@switchboard/testing';
import { Network } from 'testcontainers';
import type { SlowSocketResult, SlowSocketsInput } from './slowloris-sockets.js';

const SLOW_SOCKETS = Number(process.env.BENCH_SLOW_SOCKETS ?? 10_000);
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS ?? 10_000);
const BASELINE_MS = Number(process.env.BENCH_BASELINE_MS ?? 10_000);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 3_000);
/** purchase's HTTP_CONNECTIONS_CHECK_INTERVAL_MS: how often it closes the sockets past their timeout. */
const CHECK_INTERVAL_MS = Number(process.env.BENCH_CHECK_INTERVAL_MS ?? 1_000);
/** One slow socket in this many sends a slow body instead of slow headers (0: none). */
const BODY_EVERY = Number(process.env.BENCH_SLOW_BODY_EVERY ?? 2);
/** Normal clients, each sending one read after the other. */
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 4);
/** The promise of ADR 18: a slow socket is closed within 2 s of its timeout. */
const CLOSE_MARGIN_MS = 2_000;
const SKU = 'sku-bench';
const socketsScript = fileURLToPath(new URL('./slowloris-sockets.js', import.meta.url));

/** Normal reads by CLIENTS clients until `until()`; each one's latency, and the failures. */
async function timeReads(baseUrl: string, until: () => boolean) {
  const latencies: number[] = [];
  let failures = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (!until()) {
        const startedAt = performance.now();
        try {
          const response = await fetch(`${baseUrl}/v1/stock/${SKU}`);
          await response.arrayBuffer();
          if (response.status === 200) latencies.push(performance.now() - startedAt);
          else failures++;
        } catch {
          failures++;
        }
      }
    }),
  );
  return { latencies, failures };
}

function percentile(sorted: number[], p: number): number {
  return (
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ??
    NaN
  );
}

function summary(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? NaN,
  };
}

/** Runs the slow sockets' process; resolves once all are open, and again once all closed. */
function runSlowSockets(input: SlowSocketsInput) {
  const child = spawn(process.execPath, [socketsScript, JSON.stringify(input)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const opened = new Promise<void>((resolve) =>
    child.stderr.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      if (chunk.toString().includes('opened')) resolve();
    }),
  );
  const closed = new Promise<SlowSocketResult[]>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(stdout) as SlowSocketResult[])
        : reject(new Error(`slow sockets exited with ${code}`)),
    );
  });
  return { opened, closed };
}

async function main() {
  const startedAt = new Date();
  await using stack = new AsyncDisposableStack();
  process.stderr.write('starting postgres, nats, inventory and purchase...\n');
  const network = await new Network().start();
  stack.defer(() => network.stop().then(() => undefined));
  const [postgres, nats] = await Promise.all([startPostgres({ network }), startNats({ network })]);
  stack.defer(() => Promise.all([postgres.stop(), nats.stop()]).then(() => undefined));
  const purchaseDb = await createDatabase(postgres, 'purchase');
  await createDatabase(postgres, 'inventory');
  const inventory = await startInventory({
    network,
    databaseUrl: databaseUrlInNetwork('inventory'),
    natsUrl: nats.urlInNetwork,
    products: [{ sku: SKU, name: 'Bench', onHand: 1_000_000 }],
  });
  stack.defer(() => inventory.stop().then(() => undefined));
  const purchase = stack.use(
    await startServiceProcess<{ httpPort: number }>({
      name: 'purchase',
      // Its open-files limit raised to the hard limit: one socket per slow client.
      command: 'sh',
      args: [
        '-c',
        'ulimit -n "$(ulimit -Hn)" && exec "$0" "$1"',
        process.execPath,
        join(REPO_ROOT, 'services', 'purchase', 'dist', 'main.js'),
      ],
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: purchaseDb,
        NATS_URL: nats.url,
        INVENTORY_TARGET: inventory.grpcTarget,
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: '0',
        OPS_HOST: '127.0.0.1',
        OPS_PORT: '0',
        HTTP_HEADERS_TIMEOUT_MS: String(TIMEOUT_MS),
        HTTP_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS),
        HTTP_CONNECTIONS_CHECK_INTERVAL_MS: String(CHECK_INTERVAL_MS),
        // Every client comes from 127.0.0.1: the per-IP limit would refuse the normal reads.
        HTTP_RATE_LIMIT_MAX: '0',
        SHUTDOWN_DELAY_MS: '0',
        LOG_LEVEL: 'info',
      },
      ready: (line) =>
        line.includes('"purchase ready"') ? (JSON.parse(line) as { httpPort: number }) : undefined,
    }),
  );
  const port = purchase.ready.httpPort;
  const baseUrl = `http://127.0.0.1:${port}`;

  // Untimed first: the first requests pay for compiling and connecting, not for the edge.
  const warmupEnd = performance.now() + WARMUP_MS;
  await timeReads(baseUrl, () => performance.now() > warmupEnd);
  process.stderr.write(`baseline: ${CLIENTS} clients for ${BASELINE_MS} ms\n`);
  const baselineEnd = performance.now() + BASELINE_MS;
  const baseline = await timeReads(baseUrl, () => performance.now() > baselineEnd);

  process.stderr.write(`opening ${SLOW_SOCKETS} slow sockets\n`);
  const slow = runSlowSockets({
    port,
    count: SLOW_SOCKETS,
    batch: 250,
    trickleMs: 2_000,
    bodyEvery: BODY_EVERY,
  });
  let allClosed = false;
  const closed = slow.closed.finally(() => (allClosed = true));
  await slow.opened;
  // Timed from when all are open until purchase has closed the last of them.
  const [underAttack, results] = await Promise.all([timeReads(baseUrl, () => allClosed), closed]);

  const connected = results.filter((result) => !result.failed);
  const lateness = connected.map((result) => result.closedAt - (result.firstByteAt + TIMEOUT_MS));
  const base = summary(baseline.latencies);
  const attacked = summary(underAttack.latencies);
  const late = summary(lateness);
  const goals = [
    {
      goal: 'p99 of normal requests <= 2x the baseline',
      met: attacked.p99 <= 2 * base.p99,
      figure: `${attacked.p99.toFixed(1)} ms against ${base.p99.toFixed(1)} ms`,
    },
    {
      goal: 'every slow socket closed within its timeout + 2 s',
      met: connected.length === SLOW_SOCKETS && late.max <= CLOSE_MARGIN_MS,
      figure: `${connected.length} of ${SLOW_SOCKETS} connected; latest close ${late.max.toFixed(0)} ms after its timeout`,
    },
    {
      goal: 'no normal request failed',
      met: baseline.failures + underAttack.failures === 0,
      figure: `${baseline.failures} failed alone, ${underAttack.failures} under the slow sockets`,
    },
  ];

  const row = (name: string, s: ReturnType<typeof summary>, failures = 0) =>
    `${name.padEnd(34)} ${String(s.count).padStart(7)} ${String(failures).padStart(6)} ${[s.p50, s.p90, s.p99, s.max].map((v) => v.toFixed(1).padStart(9)).join(' ')}`;
  console.log(
    `\nslowloris: ${SLOW_SOCKETS} slow sockets (${BODY_EVERY > 0 ? `1 in ${BODY_EVERY} a slow body` : 'slow headers'}), timeouts ${TIMEOUT_MS} ms checked every ${CHECK_INTERVAL_MS} ms, ${CLIENTS} normal clients`,
  );
  console.log(
    `${''.padEnd(34)} ${'count'.padStart(7)} ${'failed'.padStart(6)} ${['p50 ms', 'p90 ms', 'p99 ms', 'max ms'].map((v) => v.padStart(9)).join(' ')}`,
  );
  console.log(row('normal reads, alone (baseline)', base, baseline.failures));
  console.log(row('normal reads, under slow sockets', attacked, underAttack.failures));
  console.log(row('slow socket close - its timeout', late));
  for (const kind of ['headers', 'body'] as const) {
    const ofKind = connected.filter((result) => result.part === kind);
    if (ofKind.length === 0) continue;
    console.log(
      row(
        `  of which slow ${kind}`,
        summary(ofKind.map((r) => r.closedAt - (r.firstByteAt + TIMEOUT_MS))),
      ),
    );
  }
  console.log('\ngoals:');
  for (const goal of goals)
    console.log(`  ${goal.met ? 'MET    ' : 'NOT MET'} ${goal.goal}: ${goal.figure}`);
  console.log(
    `\nmachine: ${cpus().length} CPUs, load average ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')} (shared: figures are noisy)`,
  );

  const directory = join(REPO_ROOT, 'bench-results');
  await mkdir(directory, { recursive: true });
  const file = join(directory, `slowloris-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(
    file,
    `${JSON.stringify(
      {
        at: startedAt.toISOString(),
        node: process.version,
        cpus: cpus().length,
        slowSockets: SLOW_SOCKETS,
        slowBodyEvery: BODY_EVERY,
        timeoutMs: TIMEOUT_MS,
        checkIntervalMs: CHECK_INTERVAL_MS,
        clients: CLIENTS,
        baseline: { ...base, failures: baseline.failures },
        underSlowSockets: { ...attacked, failures: underAttack.failures },
        closeAfterTimeoutMs: late,
        notConnected: SLOW_SOCKETS - connected.length,
        goals,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`saved ${file}`);
}

await main();
