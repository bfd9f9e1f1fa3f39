import { setTimeout as sleep } from 'node:timers/promises';
import { InventoryServiceService, type GetStockResponse } from '@switchboard/contracts';
import { AppError } from '@switchboard/errors';
import { createMetricsRegistry } from '@switchboard/observability';
import { freePort, testLogger } from '@switchboard/testing';
import type { ChannelOptions } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_CLIENT_OPTIONS,
  SERVER_KEEPALIVE_POLICY,
  createGrpcClient,
  createGrpcServer,
  keepaliveProblems,
  serviceConfigFor,
  type GrpcClientOptions,
  type ServiceHandlers,
} from '../src/index.js';

const logger = testLogger('grpc-test');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Service = typeof InventoryServiceService;
type Handlers = ServiceHandlers<Service>;
const notImplemented = () => Promise.reject(new AppError('INTERNAL', 'not in this test'));
// A watch that ends at once, for tests about other methods.
const notWatching: Handlers['watchStock'] = () => ({
  [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve({ done: true, value: undefined }) }),
});
const stock = (sku: string): GetStockResponse => ({
  stock: { sku, name: sku, onHand: 5, reserved: 1, available: 4 },
});
const inSeconds = (s: number) => new Date(Date.now() + s * 1000);

async function serve(
  handlers: Partial<Handlers>,
  options: { port?: number; channelOptions?: ChannelOptions } = {},
) {
  const registry = createMetricsRegistry({ service: 'grpc-test' });
  const server = createGrpcServer({ logger, registry, channelOptions: options.channelOptions });
  server.addService(InventoryServiceService, {
    reserve: notImplemented,
    release: notImplemented,
    getStock: notImplemented,
    listStock: notImplemented,
    watchStock: notWatching,
    ...handlers,
  });
  const port = await server.listen(`127.0.0.1:${options.port ?? 0}`);
  cleanups.push(() => server.drain(100));
  return { server, port };
}

function clientOf(port: number, options: Partial<GrpcClientOptions<Service>> = {}) {
  const registry = createMetricsRegistry({ service: 'grpc-test-client' });
  const client = createGrpcClient(InventoryServiceService, `dns:///127.0.0.1:${port}`, {
    registry,
    peerName: 'inventory',
    ...options,
  });
  cleanups.push(() => client.close());
  return { client, registry };
}

describe('retries', () => {
  it('retries an idempotent method that failed with UNAVAILABLE, and answers', async () => {
    let calls = 0;
    const { port } = await serve({
      getStock: (request) => {
        calls += 1;
        if (calls === 1) return Promise.reject(new AppError('UNAVAILABLE', 'warming up'));
        return Promise.resolve(stock(request.sku));
      },
    });
    const { client } = clientOf(port, { methods: { getStock: { idempotent: true } } });

    const response = await client.getStock({ sku: 'sku-1' }, { deadline: inSeconds(5) });

    expect(response.stock?.sku).toBe('sku-1');
    expect(calls).toBe(2);
  });

  it('retries an idempotent method refused OVERLOADED (RESOURCE_EXHAUSTED: nothing ran), and answers', async () => {
    let calls = 0;
    const { port } = await serve({
      getStock: (request) => {
        calls += 1;
        if (calls === 1) return Promise.reject(new AppError('OVERLOADED', 'at capacity'));
        return Promise.resolve(stock(request.sku));
      },
    });
    const { client } = clientOf(port, { methods: { getStock: { idempotent: true } } });

    const response = await client.getStock({ sku: 'sku-1' }, { deadline: inSeconds(5) });

    expect(response.stock?.sku).toBe('sku-1');
    expect(calls).toBe(2);
  });

  it('never retries a method that is not marked idempotent', async () => {
    let calls = 0;
    const { port } = await serve({
      getStock: () => {
        calls += 1;
        return Promise.reject(new AppError('UNAVAILABLE', 'warming up'));
      },
    });
    const { client } = clientOf(port);

    const error = await client
      .getStock({ sku: 'sku-1' }, { deadline: inSeconds(5) })
      .catch((caught: unknown) => caught);

    expect(error).toMatchObject({ code: 'UNAVAILABLE' });
    expect(calls).toBe(1);
  });

  it('puts a retry policy on the idempotent methods only, and balances round robin', () => {
    const config = JSON.parse(
      serviceConfigFor(InventoryServiceService, {
        reserve: { idempotent: true },
        getStock: { idempotent: true },
        release: { waitForReady: true },
      }),
    );
    expect(config.loadBalancingConfig).toEqual([{ round_robin: {} }]);
    expect(config.methodConfig).toHaveLength(1);
    expect(config.methodConfig[0].name).toEqual([
      { service: 'switchboard.inventory.v1.InventoryService', method: 'Reserve' },
      { service: 'switchboard.inventory.v1.InventoryService', method: 'GetStock' },
    ]);
    expect(config.methodConfig[0].retryPolicy).toMatchObject({
      maxAttempts: 3,
      retryableStatusCodes: ['UNAVAILABLE', 'RESOURCE_EXHAUSTED'],
    });
  });
});

describe('waitForReady', () => {
  it('a waitForReady method waits for a peer that comes up within the deadline; a fail-fast one does not', async () => {
    // Known before the server exists: the client dials it while nothing listens there yet.
    const port = await freePort();
    const { client } = clientOf(port, { methods: { getStock: { waitForReady: true } } });

    const waiting = client.getStock({ sku: 'sku-1' }, { deadline: inSeconds(10) });
    const failFast = await client
      .listStock({ pageSize: 0, pageToken: '' }, { deadline: inSeconds(10) })
      .catch((caught: unknown) => caught);
    await sleep(300);
    await serve({ getStock: (request) => Promise.resolve(stock(request.sku)) }, { port });

    expect(failFast).toMatchObject({ code: 'UNAVAILABLE' });
    await expect(waiting).resolves.toMatchObject({ stock: { sku: 'sku-1' } });
  });
});

describe('grpc.health.v1', () => {
  it('answers NOT_SERVING until the server is set serving, and again once its drain begins', async () => {
    const { server, port } = await serve({});
    const { client } = clientOf(port);

    const before = await client
      .checkHealth({ deadline: inSeconds(2) })
      .catch((caught: unknown) => caught);
    server.setServing(true);
    const serving = await client.checkHealth({ deadline: inSeconds(2) });
    server.setServing(false);
    const after = await client
      .checkHealth({ deadline: inSeconds(2) })
      .catch((caught: unknown) => caught);

    expect(before).toMatchObject({ code: 'UNAVAILABLE', message: 'inventory: NOT_SERVING' });
    expect(serving).toBeUndefined();
    expect(after).toMatchObject({ code: 'UNAVAILABLE', message: 'inventory: NOT_SERVING' });
  });
});

describe('channel state and connection age', () => {
  it('exports the channel state, and keeps answering across max_connection_age reconnects', async () => {
    const { port } = await serve(
      { getStock: (request) => Promise.resolve(stock(request.sku)) },
      {
        channelOptions: {
          'grpc.max_connection_age_ms': 300,
          'grpc.max_connection_age_grace_ms': 1_000,
        },
      },
    );
    const { client, registry } = clientOf(port, {
      methods: { getStock: { idempotent: true } },
    });

    const failures: unknown[] = [];
    const until = Date.now() + 1_500;
    while (Date.now() < until) {
      await client
        .getStock({ sku: 'sku-1' }, { deadline: inSeconds(2) })
        .catch((error: unknown) => failures.push(error));
      await sleep(20);
    }

    expect(failures).toEqual([]);
    const text = await registry.metrics();
    expect(text).toMatch(/grpc_client_channel_state\{grpc_peer="inventory",state="READY"[^}]*\} 1/);
    // The server closed the connection at its age at least once, and the client came back.
    const readyEntries = Number(
      /grpc_client_channel_state_changes_total\{[^}]*state="READY"[^}]*\} (\d+)/.exec(text)?.[1],
    );
    expect(readyEntries).toBeGreaterThanOrEqual(2);
  });
});

describe('drain', () => {
  it('lets a call in flight finish, then refuses new connections', async () => {
    const { server, port } = await serve({
      getStock: async (request) => {
        await sleep(300);
        return stock(request.sku);
      },
    });
    const { client } = clientOf(port);
    const inFlight = client.getStock({ sku: 'sku-1' }, { deadline: inSeconds(5) });
    await sleep(50);

    await server.drain(5_000);

    await expect(inFlight).resolves.toMatchObject({ stock: { sku: 'sku-1' } });
    const late = clientOf(port).client;
    await expect(late.getStock({ sku: 'sku-1' }, { deadline: inSeconds(2) })).rejects.toMatchObject(
      { code: 'UNAVAILABLE' },
    );
  });

  it('cancels what is still running when the grace period ends', async () => {
    const { server, port } = await serve({ getStock: () => new Promise(() => {}) });
    const { client } = clientOf(port);
    const stuck = client
      .getStock({ sku: 'sku-1' }, { deadline: inSeconds(30) })
      .catch((caught: unknown) => caught);
    await sleep(50);

    const started = performance.now();
    await server.drain(200);

    expect(performance.now() - started).toBeLessThan(5_000);
    expect(await stuck).toBeInstanceOf(AppError);
  });
});

describe('keepalive agreement', () => {
  it('accepts the default client keepalive against the servers stated ping policy', () => {
    expect(keepaliveProblems(DEFAULT_CLIENT_OPTIONS, SERVER_KEEPALIVE_POLICY)).toEqual([]);
  });

  it('names the setting when the client would ping more often than the server allows', () => {
    const problems = keepaliveProblems(
      { 'grpc.keepalive_time_ms': 5_000, 'grpc.keepalive_permit_without_calls': 1 },
      { minPingIntervalMs: 300_000, permitWithoutCalls: false },
      { clientTimeSetting: 'INVENTORY_KEEPALIVE_TIME_MS' },
    );
    expect(problems).toEqual([
      expect.stringMatching(
        /^INVENTORY_KEEPALIVE_TIME_MS \(5000\) must be at least the server's minimum ping interval \(300000 ms\)/,
      ),
      expect.stringContaining('does not permit pings without calls'),
    ]);
  });
});
