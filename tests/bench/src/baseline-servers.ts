/**
 * The servers the benchmark compares against, in a process of their own (as a real server
 * is): raw `net` echo over TCP and UDS, a bare grpc-js server, the same method through
 * @switchboard/grpc, a bare NATS responder and the same through the NATS services API. Every
 * GetStock here answers one canned Stock without a database, so the rows differ only in the
 * transport and the code around it. Reserve, through our stacks only, answers a canned
 * reservation of what was asked: the canned inventory of bench:purchase's transport ceiling.
 * Prints the addresses as one JSON line once all listen.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { connectBus, startNatsService } from '@switchboard/bus';
import {
  InventoryServiceService,
  ProtoReservationState,
  type GetStockResponse,
  type ReserveRequest,
  type ReserveResponse,
} from '@switchboard/contracts';
import { createGrpcServer } from '@switchboard/grpc';
import { createLogger, createMetricsRegistry } from '@switchboard/observability';

const [natsUrl = '', directory = ''] = process.argv.slice(2);
const logger = createLogger({ service: 'bench-servers', level: 'warn' });
const registry = createMetricsRegistry({ service: 'bench-servers' });
const CANNED: GetStockResponse = {
  stock: { sku: 'sku-bench', name: 'Bench', onHand: 1_000_000, reserved: 0, available: 1_000_000 },
};
const getStock = InventoryServiceService.getStock;
const reserveMethod = InventoryServiceService.reserve;

/** Every Reserve holds what it asks for, with no database behind it. */
function cannedReserve(request: ReserveRequest): ReserveResponse {
  return {
    reservation: {
      orderId: request.orderId,
      items: request.items,
      state: ProtoReservationState.RESERVATION_STATE_RESERVED,
      expiresAt: new Date(Date.now() + request.ttlSeconds * 1000),
    },
  };
}

function listenNet(address: number | string): Promise<number> {
  // Echo: the client sends a small frame and waits for it to come back (one round trip).
  const server = createServer((socket) => socket.on('data', (chunk) => socket.write(chunk)));
  return new Promise((resolve) =>
    server.listen(address, () => {
      const bound = server.address();
      resolve(typeof bound === 'object' && bound ? bound.port : 0);
    }),
  );
}

function bindBare(server: Server, address: string): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(address, ServerCredentials.createInsecure(), (error, port) =>
      error ? reject(error) : resolve(port),
    ),
  );
}

const netTcpPort = await listenNet(0);
const netSocket = join(directory, 'net.sock');
await listenNet(netSocket);

// Bare grpc-js: no deadline handling, no metrics, no error mapping.
const bare = new Server();
bare.addService(
  { getStock },
  {
    getStock: (_call: unknown, callback: (e: null, r: GetStockResponse) => void) =>
      callback(null, CANNED),
  },
);
const bareTcpPort = await bindBare(bare, '127.0.0.1:0');
const bareSocket = join(directory, 'bare-grpc.sock');
await bindBare(bare, `unix://${bareSocket}`);

// The same method through @switchboard/grpc: what inventory's server adds.
const ours = createGrpcServer({ logger, registry });
ours.addService(InventoryServiceService, {
  getStock: () => Promise.resolve(CANNED),
  reserve: (request) => Promise.resolve(cannedReserve(request)),
  release: () => Promise.reject(new Error('not in the benchmark')),
  listStock: () => Promise.reject(new Error('not in the benchmark')),
  watchStock: () => ({
    [Symbol.asyncIterator]: () => ({
      next: () => Promise.resolve({ done: true, value: undefined }),
    }),
  }),
});
const oursTcpPort = await ours.listen('127.0.0.1:0');
const oursSocket = join(directory, 'ours-grpc.sock');
await ours.listen(`unix://${oursSocket}`);
ours.setServing(true);

// NATS: a bare subscription that responds, and the same through the services API.
const bus = await connectBus({ servers: natsUrl, name: 'bench-servers', logger, registry });
const cannedBytes = getStock.responseSerialize(CANNED);
bus.connection.subscribe('bench.bare.GetStock', {
  callback: (_error, message) => {
    message.respond(cannedBytes);
  },
});
await startNatsService(bus, {
  name: 'benchinventory',
  version: '1.0.0',
  description: 'benchmark twin of the inventory service',
  subjectPrefix: 'benchinventory.v1',
  endpoints: {
    GetStock: () => Promise.resolve(cannedBytes),
    Reserve: (payload) =>
      Promise.resolve(
        reserveMethod.responseSerialize(
          cannedReserve(
            reserveMethod.requestDeserialize(
              Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
            ),
          ),
        ),
      ),
  },
});
await bus.connection.flush();

process.stdout.write(
  `${JSON.stringify({
    netTcpPort,
    netSocket,
    bareTcpPort,
    bareSocket,
    oursTcpPort,
    oursSocket,
    bareNatsSubject: 'bench.bare.GetStock',
    oursNatsTarget: 'nats:benchinventory.v1',
  })}\n`,
);
