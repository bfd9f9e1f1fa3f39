/**
 * `npm run bench:live`: purchase's live feed (GET /v1/live, ADR 21) with 1,000 WebSocket
 * clients. purchase runs as a process on loopback, inventory in its container, on a real
 * Postgres and NATS. The bench publishes StockChanged events on NATS itself and times each
 * one from its publish to its arrival at every client (p50, p99, max). Then 10,000 connects
 * and disconnects, with purchase's heap and open sockets before and after. Prints a table and
 * the goals, and saves everything as JSON under bench-results/.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { connectBus } from '@switchboard/bus';
import { STOCK_CHANGED } from '@switchboard/events';
import { createLogger, createMetricsRegistry } from '@switchboard/observability';
import {
  REPO_ROOT,
  createDatabase,
  databaseUrlInNetwork,
  freePort,
  startInventory,
  startNats,
  startPostgres,
  startServiceProcess,
} from '@switchboard/testing';
import { Network } from 'testcontainers';
import WebSocket from 'ws';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 1_000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 100);
const EVENT_INTERVAL_MS = Number(process.env.BENCH_EVENT_INTERVAL_MS ?? 50);
const CYCLES = Number(process.env.BENCH_CYCLES ?? 10_000);
/** Connects and disconnects running at once during the cycles. */
const CYCLE_CONCURRENCY = Number(process.env.BENCH_CYCLE_CONCURRENCY ?? 50);
const SKU = 'sku-live-bench';
const GOAL_P99_MS = 100;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** Opens a client; resolves once its first message (the snapshot) came. */
function openClient(url: string, onMessage?: (data: WebSocket.RawData) => void) {
  return new Promise<WebSocket>((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('error', reject);
    socket.once('message', () => {
      if (onMessage) socket.on('message', onMessage);
      resolve(socket);
    });
  });
}

function closeClient(socket: WebSocket) {
  return new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.close();
  });
}

/** purchase's heap in use and its open public-port sockets. */
async function purchaseResources(opsUrl: string) {
  const metrics = await (await fetch(`${opsUrl}/metrics`)).text();
  const heap = Number(/^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)/m.exec(metrics)?.[1]);
  const report = (await (await fetch(`${opsUrl}/sockets`)).json()) as {
    sockets: { role: string; declaredAs?: string }[];
  };
  const inbound = report.sockets.filter((s) => s.role === 'inbound' && s.declaredAs === 'http');
  return {
    heapMiB: heap / 2 ** 20,
    openSockets: inbound.length,
    totalSockets: report.sockets.length,
  };
}

/**
 * A full garbage collection in purchase, asked through its inspector (it runs with
 * --inspect on loopback): without it the heap in use counts garbage V8 has not needed to
 * collect yet, and says nothing about a leak.
 */
async function collectGarbage(inspectPort: number): Promise<void> {
  const [target] = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const inspector = new WebSocket(target!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    inspector.once('open', resolve);
    inspector.once('error', reject);
  });
  await new Promise<void>((resolve) => {
    inspector.on('message', (data) => {
      if ((JSON.parse((data as Buffer).toString()) as { id?: number }).id === 1) resolve();
    });
    inspector.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
  });
  inspector.close();
}

async function settle(opsUrl: string, inspectPort: number) {
  // Closed sockets leave the table within a moment; the heap is read after a full GC.
  for (let i = 0; i < 50; i++) {
    if ((await purchaseResources(opsUrl)).openSockets === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  await collectGarbage(inspectPort);
  return purchaseResources(opsUrl);
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
  const inspectPort = await freePort();
  const purchase = stack.use(
    await startServiceProcess<{ httpPort: number; opsPort: number }>({
      name: 'purchase',
      command: 'sh',
      args: [
        '-c',
        'ulimit -n "$(ulimit -Hn)" && exec "$0" "$1" "$2"',
        process.execPath,
        `--inspect=127.0.0.1:${inspectPort}`,
        join(REPO_ROOT, 'services', 'purchase', 'dist', 'main.js'),
      ],
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: purchaseDb,
        NATS_URL: nats.url,
        INVENTORY_TARGET: inventory.grpcTarget,
        INVENTORY_OPS_URL: 'http://127.0.0.1:9',
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: '0',
        OPS_HOST: '127.0.0.1',
        OPS_PORT: '0',
        HTTP_RATE_LIMIT_MAX: '0',
        LIVE_MAX_CLIENTS: String(CLIENTS + CYCLE_CONCURRENCY + 10),
        LIVE_PANELS_INTERVAL_MS: '600000',
        SHUTDOWN_DELAY_MS: '0',
        // "purchase ready" is an info line: the bench waits for it.
        LOG_LEVEL: 'info',
      },
      ready: (line) =>
        line.includes('"purchase ready"')
          ? (JSON.parse(line) as { httpPort: number; opsPort: number })
          : undefined,
    }),
  );
  const liveUrl = `ws://127.0.0.1:${purchase.ready.httpPort}/v1/live`;
  const opsUrl = `http://127.0.0.1:${purchase.ready.opsPort}`;
  const bus = await connectBus({
    servers: nats.url,
    name: 'bench',
    logger: createLogger({ service: 'bench', level: 'warn' }),
    registry: createMetricsRegistry({ service: 'bench' }),
  });
  stack.defer(() => bus.drain());

  // 1. Fan-out: every client records when each event (known by its `available`) arrives.
  const before = await settle(opsUrl, inspectPort);
  process.stderr.write(`fan-out: ${CLIENTS} clients, ${EVENTS} StockChanged events\n`);
  const publishedAt = new Map<number, number>();
  const latencies: number[] = [];
  let missing = CLIENTS * EVENTS;
  const clients: WebSocket[] = [];
  for (let i = 0; i < CLIENTS; i += 100) {
    clients.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(100, CLIENTS - i) }, () =>
          openClient(liveUrl, (data) => {
            const message = JSON.parse((data as Buffer).toString()) as {
              type: string;
              stock?: { available: number };
            };
            if (message.type !== 'stock' || !message.stock) return;
            const at = publishedAt.get(message.stock.available);
            if (at === undefined) return;
            latencies.push(performance.now() - at);
            missing--;
          }),
        ),
      )),
    );
  }
  for (let i = 1; i <= EVENTS; i++) {
    const event = {
      eventId: crypto.randomUUID(),
      occurredAt: new Date(),
      sku: SKU,
      onHand: 1_000_000,
      reserved: i,
      available: 1_000_000 - i,
    };
    publishedAt.set(event.available, performance.now());
    bus.connection.publish(STOCK_CHANGED.subjectOf!(event), STOCK_CHANGED.encode(event));
    await new Promise((resolve) => setTimeout(resolve, EVENT_INTERVAL_MS));
  }
  const fanOutDeadline = Date.now() + 10_000;
  while (missing > 0 && Date.now() < fanOutDeadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const withClients = await purchaseResources(opsUrl);
  await Promise.all(clients.map(closeClient));
  const sorted = [...latencies].sort((a, b) => a - b);
  const fanOut = {
    clients: CLIENTS,
    events: EVENTS,
    deliveries: latencies.length,
    missing,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.at(-1) ?? NaN,
  };

  // 2. Connects and disconnects: CYCLE_CONCURRENCY at a time, each waiting for its snapshot.
  const beforeCycles = await settle(opsUrl, inspectPort);
  process.stderr.write(`cycles: ${CYCLES} connects and disconnects\n`);
  let next = 0;
  let failures = 0;
  const cyclesStartedAt = performance.now();
  await Promise.all(
    Array.from({ length: CYCLE_CONCURRENCY }, async () => {
      while (next < CYCLES) {
        next++;
        try {
          await closeClient(await openClient(liveUrl));
        } catch {
          failures++;
        }
      }
    }),
  );
  const cyclesSeconds = (performance.now() - cyclesStartedAt) / 1000;
  const afterCycles = await settle(opsUrl, inspectPort);

  const goals = [
    {
      goal: `an update reaches ${CLIENTS} clients with p99 <= ${GOAL_P99_MS} ms from the StockChanged publish`,
      met: fanOut.p99Ms <= GOAL_P99_MS && missing === 0,
      figure: `p99 ${fanOut.p99Ms.toFixed(1)} ms, ${missing} missing`,
    },
    {
      goal: `open sockets back to baseline after ${CYCLES} connects and disconnects`,
      met: afterCycles.openSockets <= beforeCycles.openSockets,
      figure: `${beforeCycles.openSockets} before, ${afterCycles.openSockets} after`,
    },
    {
      goal: 'heap after a full GC back to baseline (within 10 MiB) after them',
      met: afterCycles.heapMiB - beforeCycles.heapMiB <= 10,
      figure: `${beforeCycles.heapMiB.toFixed(1)} MiB before, ${afterCycles.heapMiB.toFixed(1)} MiB after`,
    },
  ];

  console.log('\nlive feed, StockChanged publish -> each client (ms)');
  console.log('clients | events | deliveries | missing |    p50 |    p99 |    max');
  console.log(
    `${String(CLIENTS).padStart(7)} | ${String(EVENTS).padStart(6)} | ${String(fanOut.deliveries).padStart(10)} | ${String(missing).padStart(7)} | ${fanOut.p50Ms.toFixed(1).padStart(6)} | ${fanOut.p99Ms.toFixed(1).padStart(6)} | ${fanOut.maxMs.toFixed(1).padStart(6)}`,
  );
  console.log('\npurchase                 | heap MiB | open public sockets');
  for (const [name, value] of [
    ['at start', before],
    [`with ${CLIENTS} clients`, withClients],
    ['before the cycles', beforeCycles],
    [`after ${CYCLES} cycles`, afterCycles],
  ] as const) {
    console.log(
      `${name.padEnd(24)} | ${value.heapMiB.toFixed(1).padStart(8)} | ${value.openSockets}`,
    );
  }
  console.log(
    `\ncycles: ${CYCLES} in ${cyclesSeconds.toFixed(1)} s (${(CYCLES / cyclesSeconds).toFixed(0)}/s), ${failures} failed`,
  );
  console.log('\ngoals:');
  for (const goal of goals) {
    console.log(`  ${goal.met ? 'MET    ' : 'NOT MET'} ${goal.goal}: ${goal.figure}`);
  }
  console.log(
    `\nmachine: ${cpus().length} CPUs, load average ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')} (shared: figures are noisy)`,
  );

  const directory = join(REPO_ROOT, 'bench-results');
  await mkdir(directory, { recursive: true });
  const file = join(directory, `live-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  const result = {
    at: startedAt.toISOString(),
    node: process.version,
    cpus: cpus().length,
    fanOut,
    resources: { before, withClients, beforeCycles, afterCycles },
    cycles: { count: CYCLES, concurrency: CYCLE_CONCURRENCY, seconds: cyclesSeconds, failures },
    goals,
  };
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result));
  console.log(`saved ${file}`);
}

await main();
