import { InventoryServiceService } from '@switchboard/contracts';
import { createGrpcClient, type GrpcClient } from '@switchboard/grpc';
import { createMetricsRegistry } from '@switchboard/observability';
import { startCountingProxy } from '@switchboard/testing';
import type { Demo } from '../demos.js';
import { say } from '../narrate.js';
import { formatTable, quantile } from '../table.js';
import { timeCalls, type TimedCalls } from '../timed-calls.js';
import { serveGetStock } from './inventory-stub.js';

// Many calls over one HTTP/2 connection, against a connection per call: the same 500
// GetStock calls, 50 at a time, through a proxy that counts the TCP connections the server
// would see. One channel carries them all as streams; a channel per call pays a TCP handshake
// and an HTTP/2 preface for each.

const CALLS = 500;
const CONCURRENCY = 50;
const WORK_MS = 2;

type Inventory = GrpcClient<typeof InventoryServiceService>;

function channelTo(port: number, ownConnection: boolean): Inventory {
  return createGrpcClient(InventoryServiceService, `dns:///127.0.0.1:${port}`, {
    registry: createMetricsRegistry({ service: 'demo' }),
    peerName: 'inventory',
    // grpc-js shares connections between channels with the same target and options unless
    // each has a subchannel pool of its own.
    channelOptions: ownConnection ? { 'grpc.use_local_subchannel_pool': 1 } : {},
    // Fifty handshakes at once take longer than one: give each the time to connect.
    connectTimeoutMs: 10_000,
  });
}

/** CALLS calls, CONCURRENCY at a time, each made by `call` with a SKU of its own. */
const drive = (call: (sku: string) => Promise<unknown>) =>
  timeCalls((n) => call(`sku-${n}`), {
    concurrency: CONCURRENCY,
    until: (started) => started >= CALLS,
  });

const deadline = () => ({ deadline: new Date(Date.now() + 10_000) });

export const multiplexingDemo: Demo = {
  summary: 'many calls over one HTTP/2 connection, against one connection per call',
  async run() {
    const inventory = await serveGetStock(WORK_MS);
    const proxy = await startCountingProxy(inventory.port);
    const rows: string[][] = [];
    const record = (mode: string, connections: number, { latencies, seconds }: TimedCalls) => {
      const p50 = quantile(latencies, 0.5) ?? NaN;
      const p99 = quantile(latencies, 0.99) ?? NaN;
      rows.push([
        mode,
        String(CALLS),
        String(connections),
        seconds.toFixed(2),
        (CALLS / seconds).toFixed(0),
        p50.toFixed(1),
        p99.toFixed(1),
      ]);
    };
    try {
      say(`${CALLS} GetStock calls, ${CONCURRENCY} at a time, to a gRPC server on loopback.`);
      say('1. One channel for every call: each call is an HTTP/2 stream on one connection.');
      const shared = channelTo(proxy.port, false);
      const before = proxy.accepted();
      const one = await drive((sku) => shared.getStock({ sku }, deadline()));
      shared.close();
      record('one channel, shared', proxy.accepted() - before, one);
      say(`   ${proxy.accepted() - before} TCP connection(s) for ${CALLS} calls.`);

      say('2. A channel per call, closed after it: a TCP and HTTP/2 handshake for each.');
      const beforeEach = proxy.accepted();
      const each = await drive(async (sku) => {
        const channel = channelTo(proxy.port, true);
        try {
          await channel.getStock({ sku }, deadline());
        } finally {
          channel.close();
        }
      });
      record('a channel per call', proxy.accepted() - beforeEach, each);
      say(`   ${proxy.accepted() - beforeEach} TCP connections for ${CALLS} calls.`);

      say('');
      say(
        formatTable(
          ['mode', 'calls', 'TCP connections', 'seconds', 'calls/s', 'p50 ms', 'p99 ms'],
          rows,
        ),
      );
      say('');
      say('Make one client per peer and share it: HTTP/2 multiplexes the calls over its socket.');
    } finally {
      await proxy.close();
      await inventory.stop();
    }
  },
};
