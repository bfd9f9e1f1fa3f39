import { randomUUID } from 'node:crypto';
import { connectBus } from '@switchboard/bus';
import { InventoryServiceService } from '@switchboard/contracts';
import { createGrpcClient, type ClientTlsOptions } from '@switchboard/grpc';
import { createInventoryClient, type InventoryClient } from '@switchboard/inventory-client';
import { createLogger, createMetricsRegistry } from '@switchboard/observability';
import type { ClassifiedSocket, SocketReport } from '@switchboard/sockets';
import { opsUrl } from '@switchboard/testing';
import { withCleanup } from '../cleanup.js';
import type { Demo } from '../demos.js';
import { machineLine, ms, say } from '../narrate.js';
import { formatTable, quantile } from '../table.js';
import { forMs, timeCalls } from '../timed-calls.js';
import { startTopology, type Topology } from '../topology.js';
import { serveGetStock } from './inventory-stub.js';

// One inventory serves one contract over three sockets at once (ADR 9): gRPC over TCP with
// mTLS, gRPC over a Unix-domain socket, NATS request-reply. The same calls go over each, from
// the client purchase uses (@switchboard/inventory-client), and inventory's own GET /sockets
// says which socket carried them. Then the price of TLS on a new connection: the handshake.

const SECONDS_PER_CELL = 2;
const CONCURRENCY = 8;
const HANDSHAKES = 300;
const SKU = 'sku-demo';
const logger = createLogger({ service: 'demo', level: 'error' });
const inSeconds = (s: number) => ({ deadline: new Date(Date.now() + s * 1000) });

const TRANSPORTS = [
  { name: 'gRPC/TCP', target: 'tcp' },
  { name: 'gRPC/UDS', target: 'uds' },
  { name: 'NATS', target: 'nats' },
] as const;

/** Inventory's view of its sockets, from its ops port: what the kernel says it holds. */
async function socketsOfInventory(topology: Topology): Promise<ClassifiedSocket[]> {
  const report = (await (
    await fetch(`${opsUrl(topology.inventory)}/sockets`)
  ).json()) as SocketReport;
  return report.sockets;
}

/** The socket each transport's calls reached inventory on, as inventory's report shows it. */
function describeSockets(
  transport: (typeof TRANSPORTS)[number]['target'],
  sockets: ClassifiedSocket[],
) {
  const named = (name: string, role: ClassifiedSocket['role']) =>
    sockets.filter((socket) => socket.declaredAs === name && socket.role === role);
  if (transport === 'nats') {
    const out = named('nats', 'outbound');
    return {
      socket: out.map((socket) => `${socket.local} -> ${socket.peer}`).join(', '),
      protocol: 'TCP, NATS protocol',
      tls: out.some((socket) => socket.tls) ? 'TLS' : 'no (compose: TLS)',
      connections: `${out.length} (inventory -> nats-server)`,
    };
  }
  const [listener] = named(transport === 'tcp' ? 'grpc' : 'grpc-socket', 'listener');
  // A TCP connection is matched to its listener by port; an accepted unix socket carries the
  // listener's path (the kernel's table has no peer for it).
  const accepted =
    transport === 'tcp'
      ? named('grpc', 'inbound')
      : sockets.filter(
          (socket) =>
            socket.protocol === 'unix' && !socket.listening && socket.local === listener?.local,
        );
  return {
    socket: listener?.local ?? '?',
    protocol: transport === 'tcp' ? 'TCP, HTTP/2' : 'unix stream, HTTP/2',
    tls: listener?.tls ? 'mTLS' : 'no (file mode 0660)',
    connections: `${accepted.length} accepted`,
  };
}

async function compareTransports(topology: Topology): Promise<string[][]> {
  const bus = await connectBus({
    servers: topology.nats.url,
    name: 'demo',
    logger,
    registry: createMetricsRegistry({ service: 'demo' }),
  });
  const rows: string[][] = [];
  try {
    for (const transport of TRANSPORTS) {
      const client: InventoryClient = createInventoryClient(topology.targets[transport.target], {
        bus,
        logger,
        registry: createMetricsRegistry({ service: 'demo' }),
        keepaliveTimeMs: 30_000,
        tls: topology.clientTls,
      });
      try {
        say(`${transport.name} (${topology.targets[transport.target]}):`);
        // Connected and warmed up first (one untimed second): the cells time calls only.
        await timeCalls(() => client.getStock(SKU, inSeconds(5)), {
          concurrency: CONCURRENCY,
          until: forMs(1_000),
        });
        const calls = {
          GetStock: () => client.getStock(SKU, inSeconds(5)),
          Reserve: () =>
            client.reserve(randomUUID(), [{ sku: SKU, quantity: 1 }], 60, inSeconds(5)),
        };
        for (const [method, call] of Object.entries(calls)) {
          const timed = await timeCalls(call, {
            concurrency: CONCURRENCY,
            until: forMs(SECONDS_PER_CELL * 1000),
          });
          const perSecond = timed.latencies.length / timed.seconds;
          say(`   ${method}: ${timed.latencies.length} calls, ${perSecond.toFixed(0)}/s`);
          const socket = describeSockets(transport.target, await socketsOfInventory(topology));
          rows.push([
            transport.name,
            method,
            perSecond.toFixed(0),
            ms(quantile(timed.latencies, 0.5)),
            ms(quantile(timed.latencies, 0.99)),
            String(timed.failures),
            socket.socket,
            socket.protocol,
            socket.tls,
            socket.connections,
          ]);
        }
      } finally {
        client.close();
      }
    }
  } finally {
    await bus.drain();
  }
  return rows;
}

/**
 * A new connection and its first call, HANDSHAKES times over plaintext and over mTLS, taken in
 * turn, to a gRPC server with nothing behind its GetStock: TCP's handshake, TLS's (mTLS: both
 * sides show a certificate), HTTP/2's settings, and one call.
 */
async function measureHandshakes(topology: Topology): Promise<string[][]> {
  const [plain, mtls] = await Promise.all([
    serveGetStock(0),
    serveGetStock(0, { tls: topology.serverTls }),
  ]);
  const latencies = { plaintext: [] as number[], mTLS: [] as number[] };
  const connectAndCall = async (port: number, tls: ClientTlsOptions | undefined) => {
    // Made before the clock starts (it reads the certificate files); it connects on first use.
    const client = createGrpcClient(InventoryServiceService, `dns:///127.0.0.1:${port}`, {
      registry: createMetricsRegistry({ service: 'demo' }),
      peerName: 'inventory',
      tls,
      // A connection of its own, not one shared with the client before it.
      channelOptions: { 'grpc.use_local_subchannel_pool': 1 },
      connectTimeoutMs: 5_000,
    });
    try {
      const startedAt = performance.now();
      await client.getStock({ sku: SKU }, inSeconds(5));
      return performance.now() - startedAt;
    } finally {
      client.close();
    }
  };
  try {
    say(
      `\n${HANDSHAKES} new connections each, plaintext and mTLS in turn: connect + first call...`,
    );
    for (let i = 0; i < HANDSHAKES; i++) {
      latencies.plaintext.push(await connectAndCall(plain.port, undefined));
      latencies.mTLS.push(await connectAndCall(mtls.port, topology.clientTls));
    }
  } finally {
    await Promise.all([plain.stop(), mtls.stop()]);
  }
  const p50 = (values: number[]) => quantile(values, 0.5) ?? NaN;
  return Object.entries(latencies).map(([mode, values]) => [
    mode,
    String(values.length),
    ms(p50(values), 2),
    ms(quantile(values, 0.99), 2),
    mode === 'mTLS' ? `+${ms(p50(values) - p50(latencies.plaintext), 2)}` : '-',
  ]);
}

export const transportsDemo: Demo = {
  summary:
    'the three transports side by side (gRPC/TCP with mTLS, gRPC/UDS, NATS), and TLS handshake cost',
  run: () =>
    withCleanup(async (stack) => {
      const topology = await startTopology(stack, [{ sku: SKU, name: 'Demo', onHand: 1e9 }]);
      say(
        `\nThe same calls over each transport, ${CONCURRENCY} at a time for ${SECONDS_PER_CELL} s, through the client purchase uses:`,
      );
      const transports = await compareTransports(topology);
      const handshakes = await measureHandshakes(topology);
      say('');
      say(
        formatTable(
          [
            'transport',
            'call',
            'calls/s',
            'p50',
            'p99',
            'failed',
            "inventory's socket",
            'protocol',
            'TLS',
            'connections',
          ],
          transports,
        ),
      );
      say(
        "(socket and connections: inventory's GET /sockets, read from its ops port after each cell)",
      );
      say('');
      say(
        formatTable(
          ['new connection + first call', 'connections', 'p50', 'p99', 'TLS cost at p50'],
          handshakes,
        ),
      );
      say(machineLine());
      say(
        '\nEvery call of a client shares its one connection (HTTP/2 streams, or the NATS connection); the TLS handshake is paid once per connection, not per call.',
      );
    }),
};
