/**
 * `npm run bench:transports`: the Inventory API's calls per second and p50/p99 latency at
 * concurrency 1, 16, 64 and 256 over gRPC/TCP, gRPC/UDS and NATS, beside bare baselines on
 * the same sockets, in one run. Prints a table and saves it as JSON under bench-results/.
 *
 * Rows:
 * - inventory GetStock / Reserve: the real service (built dist/main.js, Postgres, NATS)
 *   through @switchboard/inventory-client, as purchase calls it;
 * - canned GetStock, ours: @switchboard/grpc or the NATS service on both ends, no database;
 * - canned GetStock, bare: grpc-js Client/Server and a plain NATS request/subscription;
 * - net ping-pong: 16 bytes there and back on a raw socket, the floor of each socket type.
 * Environment: BENCH_DURATION_MS (per cell, default 6000), BENCH_ROUNDS (slices per cell, taken
 * in turn with the other rows', default 12), BENCH_CONCURRENCY (default 1,16,64,256), BENCH_ROWS
 * (only rows whose "call stack transport" contains it, e.g. "canned GetStock"), BENCH_TRACING
 * (off, or a sampling ratio such as 1 or 0.1: tracing on in the bench and inventory, tracing.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Client, Metadata, credentials } from '@grpc/grpc-js';
import { connectBus } from '@switchboard/bus';
import { InventoryServiceService } from '@switchboard/contracts';
import { createGrpcClient, serviceConfigFor } from '@switchboard/grpc';
import { createInventoryClient, INVENTORY_METHODS } from '@switchboard/inventory-client';
import { createLogger, createMetricsRegistry } from '@switchboard/observability';
import { REPO_ROOT, createDatabase, startNats, startPostgres } from '@switchboard/testing';
import { saveResults } from './bench-results.js';
import { cpuClock } from './cpu-clock.js';
import { printMarkdownTable } from './markdown-table.js';
import { waitReady } from './wait-ready.js';
import { Cell, measureInterleaved, pairedRatio, type CellResult } from './measure.js';
import { netPingPong } from './net-ping-pong.js';
import { startBenchTracing } from './tracing.js';

// Long cells in many short rounds: on a shared 2-core machine two runs then agree within
// 10 % on the ratios to bare (ADR 24); the spread column shows how much the rounds moved.
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 6000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12);
/** Only the rows whose "call stack transport" contains this text, e.g. `canned GetStock`. */
const ROW_FILTER = process.env.BENCH_ROWS ?? '';
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '1,16,64,256').split(',').map(Number);
/** Issue 14: our clients and servers at least this share of the bare libraries' rate. */
const GOAL_RATIO = 0.87;
const logger = createLogger({ service: 'bench', level: 'error' });
const registry = () => createMetricsRegistry({ service: 'bench' });
const inSeconds = (s: number) => ({ deadline: new Date(Date.now() + s * 1000) });

interface Row {
  call: string;
  transport: string;
  stack: 'inventory' | 'ours' | 'ours-no-retry' | 'bare' | 'bare+retry' | 'raw';
  /** The process that answers: its CPU time counts with the caller's (not Postgres', NATS'). */
  serverPid: number;
  /** Makes the call function for a given concurrency (raw sockets need one per caller). */
  prepare(concurrency: number): Promise<{ call: () => Promise<unknown>; close?: () => void }>;
}

const tracing = await startBenchTracing(process.env.BENCH_TRACING);
const scratch = await mkdtemp(join(tmpdir(), 'bench-'));
const children: ChildProcess[] = [];
// Postgres and the real inventory only when one of their rows is selected: the canned rows
// (BENCH_ROWS="canned GetStock") then run without them, and without their load.
const withInventory = ['inventory GetStock', 'inventory Reserve'].some((call) =>
  ['gRPC/TCP', 'gRPC/UDS', 'NATS'].some((transport) =>
    `${call} inventory ${transport}`.includes(ROW_FILTER),
  ),
);
const [postgres, nats] = await Promise.all([
  withInventory ? startPostgres() : undefined,
  startNats(),
]);
try {
  const inventorySocket = join(scratch, 'inventory.sock');
  let inventoryPid = 0;
  if (postgres) {
    // The real inventory, as its image runs it, on TCP, a Unix socket and NATS at once.
    const seedFile = join(scratch, 'products.json');
    await writeFile(seedFile, JSON.stringify([{ sku: 'sku-bench', name: 'Bench', onHand: 1e9 }]));
    const inventoryMain = join(REPO_ROOT, 'services', 'inventory', 'dist', 'main.js');
    const inventory = spawn(process.execPath, [inventoryMain], {
      env: {
        PATH: process.env.PATH ?? '',
        LOG_LEVEL: 'warn',
        DATABASE_URL: await createDatabase(postgres, 'inventory_bench'),
        NATS_URL: nats.url,
        GRPC_HOST: '127.0.0.1',
        GRPC_PORT: '50151',
        GRPC_SOCKET_PATH: inventorySocket,
        OPS_HOST: '127.0.0.1',
        OPS_PORT: '59464',
        SEED_FILE: seedFile,
        DB_POOL_MAX: '20',
        SHUTDOWN_DELAY_MS: '0',
        ...tracing.env,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    children.push(inventory);
    inventoryPid = inventory.pid!;
    await waitReady('http://127.0.0.1:59464/readyz');
  }

  // The baselines, in a process of their own.
  const baselineScript = fileURLToPath(new URL('./baseline-servers.js', import.meta.url));
  const baselines = spawn(process.execPath, [baselineScript, nats.url, scratch], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(baselines);
  const baselinesPid = baselines.pid!;
  const firstLine = await new Promise<string>((resolve) =>
    createInterface({ input: baselines.stdout }).once('line', resolve),
  );
  const addresses = JSON.parse(firstLine) as {
    netTcpPort: number;
    netSocket: string;
    bareTcpPort: number;
    bareSocket: string;
    oursTcpPort: number;
    oursSocket: string;
    bareNatsSubject: string;
    oursNatsTarget: string;
  };

  const bus = await connectBus({ servers: nats.url, name: 'bench', logger, registry: registry() });
  const inventoryTargets = {
    'gRPC/TCP': 'dns:///127.0.0.1:50151',
    'gRPC/UDS': `unix://${inventorySocket}`,
    NATS: 'nats:inventory.v1',
  };
  let orders = 0;
  const rows: Row[] = [];
  for (const [transport, target] of withInventory ? Object.entries(inventoryTargets) : []) {
    const client = createInventoryClient(target, {
      bus,
      logger,
      registry: registry(),
      keepaliveTimeMs: 30_000,
    });
    rows.push({
      call: 'inventory GetStock',
      transport,
      stack: 'inventory',
      serverPid: inventoryPid,
      prepare: () => Promise.resolve({ call: () => client.getStock('sku-bench', inSeconds(5)) }),
    });
    rows.push({
      call: 'inventory Reserve',
      transport,
      stack: 'inventory',
      serverPid: inventoryPid,
      prepare: () =>
        Promise.resolve({
          call: () => {
            orders += 1;
            return client.reserve(
              `bench-${orders}`,
              [{ sku: 'sku-bench', quantity: 1 }],
              60,
              inSeconds(5),
            );
          },
        }),
    });
  }
  const cannedRequest = { sku: 'sku-bench' };
  for (const [transport, target] of [
    ['gRPC/TCP', `dns:///127.0.0.1:${addresses.oursTcpPort}`],
    ['gRPC/UDS', `unix://${addresses.oursSocket}`],
  ] as const) {
    const ours = createGrpcClient(InventoryServiceService, target, {
      registry: registry(),
      peerName: 'bench',
      methods: INVENTORY_METHODS,
    });
    rows.push({
      call: 'canned GetStock',
      transport,
      stack: 'ours',
      serverPid: baselinesPid,
      prepare: () => Promise.resolve({ call: () => ours.getStock(cannedRequest, inSeconds(5)) }),
    });
    // The same without a retryPolicy in the service config: what grpc-js's retry machinery
    // (buffering each call so it can be replayed) costs on the happy path.
    const oursNoRetry = createGrpcClient(InventoryServiceService, target, {
      registry: registry(),
      peerName: 'bench',
    });
    rows.push({
      call: 'canned GetStock',
      transport,
      stack: 'ours-no-retry',
      serverPid: baselinesPid,
      prepare: () =>
        Promise.resolve({ call: () => oursNoRetry.getStock(cannedRequest, inSeconds(5)) }),
    });
    const bareTarget =
      transport === 'gRPC/TCP'
        ? `dns:///127.0.0.1:${addresses.bareTcpPort}`
        : `unix://${addresses.bareSocket}`;
    const method = InventoryServiceService.getStock;
    const bareCall = (client: Client) => () =>
      new Promise((resolve, reject) =>
        client.makeUnaryRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          cannedRequest,
          new Metadata(),
          inSeconds(5),
          (error, response) => (error ? reject(error) : resolve(response)),
        ),
      );
    const bare = new Client(bareTarget, credentials.createInsecure());
    rows.push({
      call: 'canned GetStock',
      transport,
      stack: 'bare',
      serverPid: baselinesPid,
      prepare: () => Promise.resolve({ call: bareCall(bare) }),
    });
    // Bare grpc-js with our service config: what grpc-js's retry machinery costs by itself,
    // so that `ours` minus this is what our code adds.
    const bareWithRetry = new Client(bareTarget, credentials.createInsecure(), {
      'grpc.service_config': serviceConfigFor(InventoryServiceService, INVENTORY_METHODS),
    });
    rows.push({
      call: 'canned GetStock',
      transport,
      stack: 'bare+retry',
      serverPid: baselinesPid,
      prepare: () => Promise.resolve({ call: bareCall(bareWithRetry) }),
    });
  }
  const oursNats = createInventoryClient(addresses.oursNatsTarget, {
    bus,
    logger,
    registry: registry(),
    keepaliveTimeMs: 30_000,
  });
  rows.push({
    call: 'canned GetStock',
    transport: 'NATS',
    stack: 'ours',
    serverPid: baselinesPid,
    prepare: () => Promise.resolve({ call: () => oursNats.getStock('sku-bench', inSeconds(5)) }),
  });
  const cannedBytes = InventoryServiceService.getStock.requestSerialize(cannedRequest);
  rows.push({
    call: 'canned GetStock',
    transport: 'NATS',
    stack: 'bare',
    serverPid: baselinesPid,
    prepare: () =>
      Promise.resolve({
        call: () =>
          bus.connection.request(addresses.bareNatsSubject, cannedBytes, { timeout: 5_000 }),
      }),
  });
  rows.push({
    call: 'net ping-pong',
    transport: 'TCP',
    stack: 'raw',
    serverPid: baselinesPid,
    prepare: (concurrency) => netPingPong({ port: addresses.netTcpPort }, concurrency),
  });
  rows.push({
    call: 'net ping-pong',
    transport: 'UDS',
    stack: 'raw',
    serverPid: baselinesPid,
    prepare: (concurrency) => netPingPong({ path: addresses.netSocket }, concurrency),
  });

  const selected = rows.filter((row) =>
    `${row.call} ${row.stack} ${row.transport}`.includes(ROW_FILTER),
  );

  // Every client connected before the clock starts.
  for (const row of selected.filter((each) => each.stack !== 'raw')) {
    const { call } = await row.prepare(1);
    await call();
  }

  // Concurrency outer, rows inner, and each cell in ROUNDS slices taken in turn with the
  // other rows' slices: a drift of the machine (other load, GC, JIT) then affects every row of
  // a level alike instead of favouring the rows measured first. The real inventory's rows and
  // the rest are measured apart: Reserve leaves work behind (events to publish and consume)
  // that would slow whichever canned row came next.
  const groups = [
    selected.filter((row) => row.stack === 'inventory'),
    selected.filter((row) => row.stack !== 'inventory'),
  ];
  const cells: { row: Row; result: Result }[] = [];
  for (const concurrency of CONCURRENCY) {
    for (const group of groups) {
      const prepared = await Promise.all(group.map((row) => row.prepare(concurrency)));
      const measured = await measureInterleaved(
        prepared.map(
          ({ call }, index) => new Cell(call, concurrency, cpuClock([group[index]!.serverPid])),
        ),
        { durationMs: DURATION_MS, rounds: ROUNDS, warmupMs: 1000 },
      );
      for (const { close } of prepared) close?.();
      measured.forEach((result, index) => {
        const row = group[index]!;
        const { call: name, transport, stack } = row;
        cells.push({ row, result: { call: name, transport, stack, concurrency, ...result } });
      });
    }
    process.stderr.write('.');
  }
  const results = cells
    .sort(
      (a, b) =>
        selected.indexOf(a.row) - selected.indexOf(b.row) ||
        a.result.concurrency - b.result.concurrency,
    )
    .map(({ result }) => result);
  process.stderr.write('\n');
  await bus.drain();

  console.log(`tracing: ${tracing.label}`);
  printTable(results);
  const summary = compare(results);
  for (const line of summary) console.log(line);
  const file = await saveResults('transports', {
    tracing: tracing.label,
    durationMsPerCell: DURATION_MS,
    roundsPerCell: ROUNDS,
    results,
    summary,
  });
  console.log(`\nsaved ${file}`);
} finally {
  for (const child of children) child.kill('SIGTERM');
  await sleep(500);
  await Promise.all([postgres?.stop(), nats.stop()]);
  await rm(scratch, { recursive: true, force: true });
  await tracing.stop();
}
process.exit(0);

type Result = { call: string; transport: string; stack: string; concurrency: number } & CellResult;

function printTable(results: Result[]): void {
  const header = [
    'call',
    'stack',
    'transport',
    'conc',
    'calls/s',
    'spread',
    'p50 ms',
    'p99 ms',
    'CPU µs/call',
    'errors',
  ];
  const lines = results.map((r) => [
    r.call,
    r.stack,
    r.transport,
    String(r.concurrency),
    String(r.callsPerSecond),
    `${r.spreadPercent} %`,
    r.p50Ms.toFixed(3),
    r.p99Ms.toFixed(3),
    r.cpuMicrosPerCall.toFixed(1),
    String(r.errors),
  ]);
  printMarkdownTable(header, lines, 3);
}

/**
 * The goals, computed: our clients and servers reach at least 0.87x of the bare libraries'
 * calls per second (issue 14), and UDS beats TCP. The ratio is the median of the per-round
 * ratios (pairedRatio), steadier than the ratio of the two totals on a shared machine.
 */
function compare(results: Result[]): string[] {
  const find = (call: string, stack: string, transport: string, concurrency: number) =>
    results.find(
      (r) =>
        r.call === call &&
        r.stack === stack &&
        r.transport === transport &&
        r.concurrency === concurrency,
    );
  const lines = [
    '',
    `Goals (ours at least ${GOAL_RATIO}x of bare, as the median of per-round ratios; UDS faster than TCP):`,
  ];
  for (const concurrency of CONCURRENCY) {
    for (const transport of ['gRPC/TCP', 'gRPC/UDS', 'NATS']) {
      const ours = find('canned GetStock', 'ours', transport, concurrency);
      const baselines = transport === 'NATS' ? ['bare'] : ['bare', 'bare+retry'];
      for (const baseline of baselines) {
        const bare = find('canned GetStock', baseline, transport, concurrency);
        if (!ours || !bare) continue;
        const ratio = pairedRatio(ours, bare);
        const cpu = ours.cpuMicrosPerCall / bare.cpuMicrosPerCall;
        const name = baseline === 'bare' ? 'bare' : 'bare with our retry policy';
        lines.push(
          `c=${concurrency} ${transport}: ours vs ${name}: ${ratio.toFixed(2)}x the calls/s (${ours.callsPerSecond} vs ${bare.callsPerSecond}) ${ratio >= GOAL_RATIO ? 'MET' : 'MISSED'}; ${cpu.toFixed(2)}x the CPU per call (${ours.cpuMicrosPerCall} vs ${bare.cpuMicrosPerCall} µs)`,
        );
      }
    }
    const tcp = find('inventory GetStock', 'inventory', 'gRPC/TCP', concurrency);
    const uds = find('inventory GetStock', 'inventory', 'gRPC/UDS', concurrency);
    if (tcp && uds) {
      lines.push(
        `c=${concurrency} inventory GetStock: UDS ${uds.callsPerSecond}/s p50 ${uds.p50Ms} ms vs TCP ${tcp.callsPerSecond}/s p50 ${tcp.p50Ms} ms: UDS ${uds.callsPerSecond > tcp.callsPerSecond ? 'faster' : 'NOT faster'}`,
      );
    }
  }
  return lines;
}
