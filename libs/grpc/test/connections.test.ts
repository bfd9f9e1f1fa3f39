import { InventoryServiceService, type GetStockResponse } from '@switchboard/contracts';
import { AppError } from '@switchboard/errors';
import { createMetricsRegistry } from '@switchboard/observability';
import { startCountingProxy, testLogger } from '@switchboard/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createGrpcClient, createGrpcServer, type GrpcClient } from '../src/index.js';

// What a gRPC channel does with TCP connections, counted where the server would see them: a
// TCP proxy in front of the server counts each connection it accepts and those still open.

const logger = testLogger('grpc-connections-test');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const stock = (sku: string): GetStockResponse => ({
  stock: { sku, name: sku, onHand: 5, reserved: 1, available: 4 },
});
const notImplemented = () => Promise.reject(new AppError('INTERNAL', 'not in this test'));

/** A server whose GetStock answers only once `together` calls are in flight at once. */
async function serveTogether(together: number) {
  const registry = createMetricsRegistry({ service: 'grpc-connections-test' });
  const server = createGrpcServer({ logger, registry });
  let inFlight = 0;
  let mostInFlight = 0;
  const waiting: (() => void)[] = [];
  server.addService(InventoryServiceService, {
    reserve: notImplemented,
    release: notImplemented,
    listStock: notImplemented,
    watchStock: () => ({
      [Symbol.asyncIterator]: () => ({
        next: () => Promise.resolve({ done: true, value: undefined }),
      }),
    }),
    getStock: async (request) => {
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      if (inFlight >= together) for (const release of waiting.splice(0)) release();
      else await new Promise<void>((resolve) => waiting.push(resolve));
      inFlight -= 1;
      return stock(request.sku);
    },
  });
  const port = await server.listen('127.0.0.1:0');
  cleanups.push(() => server.drain(100));
  return { port, mostInFlight: () => mostInFlight };
}

/** A counting proxy to `port`, closed after the test, and the gRPC target through it. */
async function countingProxy(port: number) {
  const proxy = await startCountingProxy(port);
  cleanups.push(() => proxy.close());
  return {
    target: `dns:///127.0.0.1:${proxy.port}`,
    accepted: () => proxy.accepted(),
    open: () => proxy.open(),
  };
}

function client(target: string, channelOptions = {}): GrpcClient<typeof InventoryServiceService> {
  return createGrpcClient(InventoryServiceService, target, {
    registry: createMetricsRegistry({ service: 'grpc-connections-test' }),
    peerName: 'inventory',
    channelOptions,
  });
}

const inSeconds = (s: number) => new Date(Date.now() + s * 1000);

describe('a gRPC channel and its TCP connections', () => {
  it('carries 200 calls at once as HTTP/2 streams over one TCP connection', async () => {
    const server = await serveTogether(200);
    const proxy = await countingProxy(server.port);
    const shared = client(proxy.target);
    cleanups.push(() => shared.close());

    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        shared.getStock({ sku: `sku-${i}` }, { deadline: inSeconds(10) }),
      ),
    );

    expect(answers).toHaveLength(200);
    // All 200 were in flight on the server together, yet one connection carried them.
    expect(server.mostInFlight()).toBe(200);
    expect(proxy.accepted()).toBe(1);
  });

  it('opens a connection per channel of its own, and keeps it open until close(): 20 channels never closed hold 20 sockets', async () => {
    const server = await serveTogether(1);
    const proxy = await countingProxy(server.port);
    // A subchannel pool of its own: by default grpc-js shares one connection between channels
    // to the same target with the same options, which would hide the leak.
    const channels = Array.from({ length: 20 }, () =>
      client(proxy.target, { 'grpc.use_local_subchannel_pool': 1 }),
    );
    for (const channel of channels) {
      await channel.getStock({ sku: 'sku-1' }, { deadline: inSeconds(10) });
    }
    expect(proxy.accepted()).toBe(20);
    // The calls are long done; a channel nobody closes keeps its socket (and the server's).
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(proxy.open()).toBe(20);

    for (const channel of channels) channel.close();
    await expect.poll(proxy.open, { timeout: 5_000 }).toBe(0);
  });
});
