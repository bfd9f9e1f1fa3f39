/** bench:purchase's tables, its ratios to the floor and the ceiling, and its JSON file. */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@switchboard/testing';
import type { CpuReading, Transport } from './purchase-topology.js';
import { STAGES, type Breakdown } from './stage-breakdown.js';

export type CatalogName = 'hot' | 'spread';

export interface CellRow {
  transport: Transport;
  catalog: CatalogName;
  clients: number;
  purchasesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  purchases: number;
  errors: Record<string, number>;
  cpuMsPerPurchase: CpuReading;
  commitsPerPurchase: number;
  /** From the 201's arrival to the commit of its reservation. */
  lagP50Ms: number;
  lagP99Ms: number;
  /** 201s whose reservation was not committed yet when the load stopped. */
  backlogAtEnd: number;
  /** How long committing that backlog took; undefined if it did not within the timeout. */
  drainMs: number | undefined;
  keepsUp: boolean;
  missingOrders: number;
  uncommitted: number;
}

export interface FloorRow {
  catalog: CatalogName;
  clients: number;
  purchasesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  cpuMsPerPurchase: { floor: number; postgres: number };
}

export interface CeilingRow {
  transport: Transport;
  clients: number;
  purchasesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: Record<string, number>;
  /** The edge and the canned inventory together. */
  cpuMsPerPurchase: number;
}

export interface BreakdownRow extends Breakdown {
  clients: number;
}

export interface Results {
  at: string;
  runId: string;
  settings: Record<string, unknown>;
  cells: CellRow[];
  floor: FloorRow[];
  ceiling: CeilingRow[];
  breakdown: BreakdownRow[];
  stockMismatches: string[];
}

const TRANSPORT_LABELS: Record<Transport, string> = {
  'grpc-tcp': 'gRPC/TCP',
  'grpc-uds': 'gRPC/UDS',
  nats: 'NATS',
};

const fixed = (value: number | undefined, digits = 1) =>
  value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits);
const errorsText = (errors: Record<string, number>) =>
  Object.entries(errors)
    .map(([status, count]) => `${status}:${count}`)
    .join(' ') || '0';

/** Prints a Markdown table: the header, then the rows, each a list of cells. */
function table(header: string[], rows: string[][]): void {
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}

export function printResults(results: Results): void {
  const floorOf = (cell: CellRow) =>
    results.floor.find((row) => row.catalog === cell.catalog && row.clients === cell.clients);
  const ceilingOf = (cell: CellRow) =>
    results.ceiling.find((row) => row.transport === cell.transport && row.clients === cell.clients);
  const ratio = (value: number, base: number | undefined) =>
    base === undefined || base === 0 ? '-' : `${(value / base).toFixed(2)}x`;

  console.log(
    `\nbench:purchase, ${String(results.settings.seconds)} s a cell; CPU in ms per purchase (purchase / inventory / postgres / nats); lag: 201 to committed reservation\n`,
  );
  table(
    [
      'transport',
      'SKUs',
      'clients',
      'purchases/s',
      'p50 ms',
      'p99 ms',
      'errors',
      'CPU ms/purchase',
      'commits/purchase',
      'lag p50/p99 ms',
      'backlog, drain',
      'keeps up',
      'x floor',
      'x ceiling',
      'mismatches',
    ],
    results.cells.map((cell) => [
      TRANSPORT_LABELS[cell.transport],
      cell.catalog,
      String(cell.clients),
      fixed(cell.purchasesPerSecond, 0),
      fixed(cell.p50Ms),
      fixed(cell.p99Ms),
      errorsText(cell.errors),
      [cell.cpuMsPerPurchase.purchase, cell.cpuMsPerPurchase.inventory]
        .concat([cell.cpuMsPerPurchase.postgres, cell.cpuMsPerPurchase.nats])
        .map((ms) => fixed(ms, 2))
        .join(' / '),
      fixed(cell.commitsPerPurchase, 2),
      `${fixed(cell.lagP50Ms)} / ${fixed(cell.lagP99Ms)}`,
      `${cell.backlogAtEnd}, ${cell.drainMs === undefined ? 'timeout' : `${fixed(cell.drainMs / 1000, 1)} s`}`,
      cell.keepsUp ? 'yes' : 'NO',
      ratio(cell.purchasesPerSecond, floorOf(cell)?.purchasesPerSecond),
      ratio(cell.purchasesPerSecond, ceilingOf(cell)?.purchasesPerSecond),
      String(cell.missingOrders + cell.uncommitted),
    ]),
  );

  console.log(
    '\ndurable floor: the same transactions straight through pg from one process (no HTTP, gRPC, NATS, outbox)\n',
  );
  table(
    [
      'SKUs',
      'clients',
      'purchases/s',
      'p50 ms',
      'p99 ms',
      'errors',
      'CPU ms/purchase (floor / postgres)',
    ],
    results.floor.map((row) => [
      row.catalog,
      String(row.clients),
      fixed(row.purchasesPerSecond, 0),
      fixed(row.p50Ms),
      fixed(row.p99Ms),
      String(row.errors),
      `${fixed(row.cpuMsPerPurchase.floor, 2)} / ${fixed(row.cpuMsPerPurchase.postgres, 2)}`,
    ]),
  );

  console.log(
    '\ntransport ceiling: Fastify -> the inventory client -> a canned inventory, no database\n',
  );
  table(
    ['transport', 'clients', 'purchases/s', 'p50 ms', 'p99 ms', 'errors', 'CPU ms/purchase'],
    results.ceiling.map((row) => [
      TRANSPORT_LABELS[row.transport],
      String(row.clients),
      fixed(row.purchasesPerSecond, 0),
      fixed(row.p50Ms),
      fixed(row.p99Ms),
      errorsText(row.errors),
      fixed(row.cpuMsPerPurchase, 2),
    ]),
  );

  if (results.breakdown.length > 0) {
    console.log(
      '\nwhere a purchase spends its time (traced, gRPC/TCP, hot SKU): p50 ms (mean ms) of each stage\n',
    );
    table(
      ['clients', 'traced', ...STAGES, 'total'],
      results.breakdown.map((row) => [
        String(row.clients),
        String(row.purchases),
        ...[...STAGES, 'total' as const].map(
          (stage) => `${fixed(row.stages[stage].p50Ms, 2)} (${fixed(row.stages[stage].meanMs, 2)})`,
        ),
      ]),
    );
  }

  const mismatches = results.cells.reduce(
    (sum, cell) => sum + cell.missingOrders + cell.uncommitted,
    0,
  );
  const purchases = results.cells.reduce((sum, cell) => sum + cell.purchases, 0);
  console.log(
    `\nchecked: ${purchases} 201s, ${mismatches} without a stored order or a committed reservation; SKUs whose stock does not add up: ${results.stockMismatches.length === 0 ? 'none' : results.stockMismatches.join(', ')}`,
  );
  console.log(
    `machine: ${cpus().length} CPUs, load average ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')} (shared: figures are noisy)`,
  );
}

export async function saveResults(results: Results, startedAt: Date): Promise<string> {
  const directory = join(REPO_ROOT, 'bench-results');
  await mkdir(directory, { recursive: true });
  const file = join(directory, `purchase-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(
    file,
    `${JSON.stringify({ ...results, node: process.version, cpus: cpus().length }, null, 2)}\n`,
  );
  return file;
}
