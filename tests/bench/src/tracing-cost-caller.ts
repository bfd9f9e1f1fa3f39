/**
 * One tracing setting's callers for `npm run bench:tracing` (tracing-cost.ts): a process of its
 * own, because tracing is on or off for a whole process (the SDK is loaded or not). Its
 * environment holds the setting (the standard OTEL_* variables, or none); argv[2] is JSON
 * `{ natsUrl, targets }`, the inventory of the same setting on each transport.
 *
 * It reads one slice per line on stdin, `{ call, transport, concurrency, durationMs }`, runs
 * it (callInLoop) and answers on stdout `{ calls, errors, elapsedMs }`.
 */
import { createInterface } from 'node:readline';
import { connectBus } from '@switchboard/bus';
import { createInventoryClient } from '@switchboard/inventory-client';
import { createLogger, createMetricsRegistry } from '@switchboard/observability';
import { startTelemetry } from '@switchboard/telemetry/start';
import { callInLoop } from './measure.js';

export interface SliceRequest {
  call: 'GetStock' | 'Reserve';
  transport: string;
  concurrency: number;
  durationMs: number;
}

export interface SliceAnswer {
  calls: number;
  errors: number;
  elapsedMs: number;
}

const telemetry = await startTelemetry({ service: 'bench', env: process.env });
const { natsUrl, targets } = JSON.parse(process.argv[2] ?? '{}') as {
  natsUrl: string;
  targets: Record<string, string>;
};
const logger = createLogger({ service: 'bench', level: 'error' });
const bus = await connectBus({
  servers: natsUrl,
  name: 'bench',
  logger,
  registry: createMetricsRegistry({ service: 'bench' }),
});
const clients = new Map(
  Object.entries(targets).map(([transport, target]) => [
    transport,
    createInventoryClient(target, {
      bus,
      logger,
      registry: createMetricsRegistry({ service: 'bench' }),
      keepaliveTimeMs: 30_000,
    }),
  ]),
);
// Order ids unique to this process and run: a repeated id would be a cheap idempotent replay.
const orderPrefix = `bench-${process.pid}-${Date.now()}`;
let orders = 0;
const inSeconds = (s: number) => ({ deadline: new Date(Date.now() + s * 1000) });

for await (const line of createInterface({ input: process.stdin })) {
  const request = JSON.parse(line) as SliceRequest;
  const client = clients.get(request.transport);
  if (!client) throw new Error(`no client for ${request.transport}`);
  const call =
    request.call === 'GetStock'
      ? () => client.getStock('sku-bench', inSeconds(5))
      : () =>
          client.reserve(
            `${orderPrefix}-${(orders += 1)}`,
            [{ sku: 'sku-bench', quantity: 1 }],
            60,
            inSeconds(5),
          );
  const slice = await callInLoop(call, request.concurrency, request.durationMs);
  const answer: SliceAnswer = {
    calls: slice.latencies.length,
    errors: slice.errors,
    elapsedMs: slice.elapsedMs,
  };
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
// stdin closed: the parent is done with this setting.
await bus.drain();
await telemetry.shutdown();
process.exit(0);
