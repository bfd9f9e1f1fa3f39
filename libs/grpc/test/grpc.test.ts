import { InventoryServiceService, type GetStockResponse } from '@switchboard/contracts';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import {
  Client,
  Metadata,
  Server,
  credentials,
  ServerCredentials,
  status as GrpcStatus,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { AppError } from '@switchboard/errors';
import { createMetricsRegistry } from '@switchboard/observability';
import { testLogger } from '@switchboard/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createGrpcClient, createGrpcServer, type ServiceHandlers } from '../src/index.js';

const logger = testLogger('grpc-test');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const stock = (sku: string): GetStockResponse => ({
  stock: { sku, name: sku, onHand: 5, reserved: 1, available: 4 },
});

type Handlers = ServiceHandlers<typeof InventoryServiceService>;
const notImplemented = () => Promise.reject(new AppError('INTERNAL', 'not in this test'));
// A watch that ends at once, for tests about other methods.
const notWatching: Handlers['watchStock'] = () => ({
  [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve({ done: true, value: undefined }) }),
});

async function serve(overrides: Partial<Handlers>) {
  const registry = createMetricsRegistry({ service: 'grpc-test' });
  const server = createGrpcServer({ logger, registry });
  server.addService(InventoryServiceService, {
    reserve: notImplemented,
    release: notImplemented,
    getStock: notImplemented,
    listStock: notImplemented,
    watchStock: notWatching,
    ...overrides,
  });
  const port = await server.listen('127.0.0.1:0');
  cleanups.push(() => server.drain(100));
  const client = createGrpcClient(InventoryServiceService, `dns:///127.0.0.1:${port}`, {
    registry,
    peerName: 'inventory',
  });
  cleanups.push(() => client.close());
  return { client, registry, port };
}

const inSeconds = (s: number) => new Date(Date.now() + s * 1000);

describe('gRPC server and client', () => {
  it('answers a unary call and counts it on both sides', async () => {
    const { client, registry } = await serve({
      getStock: (request) => Promise.resolve(stock(request.sku)),
    });
    const response = await client.getStock({ sku: 'sku-1' }, { deadline: inSeconds(2) });
    expect(response.stock?.available).toBe(4);
    const text = await registry.metrics();
    expect(text).toMatch(
      /grpc_server_handled_total\{[^}]*grpc_method="GetStock",grpc_code="OK"[^}]*\} 1/,
    );
    expect(text).toMatch(
      /grpc_client_handled_total\{[^}]*grpc_method="GetStock",grpc_code="OK"[^}]*\} 1/,
    );
  });

  it('carries the exact AppError code and its details across the wire', async () => {
    const { client } = await serve({
      reserve: () =>
        Promise.reject(
          new AppError('INSUFFICIENT_STOCK', 'not enough stock', { details: { skus: ['a', 'b'] } }),
        ),
    });
    const error = await client
      .reserve(
        { orderId: 'o-1', items: [{ sku: 'a', quantity: 1 }], ttlSeconds: 60 },
        { deadline: inSeconds(2) },
      )
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({
      code: 'INSUFFICIENT_STOCK',
      message: 'not enough stock',
      details: { skus: ['a', 'b'] },
    });
  });

  it('turns an unexpected throw into INTERNAL without leaking its message', async () => {
    const { client } = await serve({
      getStock: () => Promise.reject(new Error('secret connection string')),
    });
    const error = await client
      .getStock({ sku: 'x' }, { deadline: inSeconds(2) })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'INTERNAL', message: 'internal error' });
  });

  it('keeps the message of an INTERNAL AppError inside the process, as over NATS', async () => {
    const { client } = await serve({
      getStock: () => Promise.reject(new AppError('INTERNAL', 'secret connection string')),
    });
    const error = await client
      .getStock({ sku: 'x' }, { deadline: inSeconds(2) })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'INTERNAL', message: 'internal error' });
  });

  it('fails with DEADLINE_EXCEEDED at the deadline and aborts the server-side work', async () => {
    let serverSignal: AbortSignal | undefined;
    const { client } = await serve({
      getStock: (_request, context) => {
        serverSignal = context.signal;
        return new Promise(() => {});
      },
    });
    const error = await client
      .getStock({ sku: 'x' }, { deadline: new Date(Date.now() + 200) })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    await expect.poll(() => serverSignal?.aborted).toBe(true);
    expect(serverSignal?.reason).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
  });

  it('leaves the signal of a call it has answered alone', async () => {
    // grpc-js reports every answered call as 'cancelled' too; that must not reach the handler
    // (work it left running after answering, e.g. a log write, would be aborted for nothing).
    let serverSignal: AbortSignal | undefined;
    const { client } = await serve({
      getStock: (request, context) => {
        serverSignal = context.signal;
        return Promise.resolve(stock(request.sku));
      },
    });
    await client.getStock({ sku: 'x' }, { deadline: inSeconds(2) });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(serverSignal?.aborted).toBe(false);
  });

  it('answers UNAVAILABLE at once when nothing listens on the target', async () => {
    const registry = createMetricsRegistry({ service: 'grpc-test' });
    const client = createGrpcClient(InventoryServiceService, 'dns:///127.0.0.1:1', {
      registry,
      peerName: 'inventory',
    });
    cleanups.push(() => client.close());
    const error = await client
      .getStock({ sku: 'x' }, { deadline: inSeconds(5) })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'UNAVAILABLE' });
    expect((error as AppError).message).toMatch(/^inventory: /);
  });

  it('answers UNAVAILABLE after the connect timeout, not at the deadline, when the peer never completes the handshake', async () => {
    // A socket that accepts connections and never speaks HTTP/2: a peer that is there and not.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
      silent.close();
    });
    const { port } = silent.address() as AddressInfo;
    const registry = createMetricsRegistry({ service: 'grpc-test' });
    const client = createGrpcClient(InventoryServiceService, `dns:///127.0.0.1:${port}`, {
      registry,
      peerName: 'inventory',
      connectTimeoutMs: 300,
    });
    cleanups.push(() => client.close());
    const started = performance.now();
    const error = await client
      .getStock({ sku: 'x' }, { deadline: inSeconds(10) })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: 'UNAVAILABLE',
      message: 'inventory: no connection within 300 ms',
    });
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(await registry.metrics()).toMatch(
      /grpc_client_handled_total\{[^}]*grpc_code="UNAVAILABLE"/,
    );
  });

  it('cancels the call when the caller aborts, and the server-side work with it', async () => {
    let serverSignal: AbortSignal | undefined;
    const { client } = await serve({
      getStock: (_request, context) => {
        serverSignal = context.signal;
        return new Promise(() => {});
      },
    });
    const controller = new AbortController();
    const pending = client.getStock(
      { sku: 'x' },
      { deadline: inSeconds(5), signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toMatchObject({ code: 'CANCELLED' });
    await expect.poll(() => serverSignal?.aborted).toBe(true);
    expect(serverSignal?.reason).toMatchObject({ code: 'CANCELLED' });
  });
});

describe('error answers that carry what the caller sent', () => {
  // Details and messages echo the request (an unknown SKU), so they hold any Unicode. gRPC
  // metadata values must be printable ASCII: these used to throw while the error was sent,
  // an unhandled rejection that killed the server process.
  const hostileSkus = ['é', 'a\u0007', 'line\r\nbreak', 'nul\u0000', '😀', 'עברית', ' padded '];

  it('carries details with non-ASCII and control characters exactly (unary)', async () => {
    const { client } = await serve({
      getStock: (request) =>
        Promise.reject(
          new AppError('NOT_FOUND', `unknown SKU: ${request.sku}`, {
            details: { skus: hostileSkus },
          }),
        ),
    });
    const error = await client
      .getStock({ sku: 'é' }, { deadline: inSeconds(2) })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: 'NOT_FOUND',
      message: 'unknown SKU: é',
      details: { skus: hostileSkus },
    });
  });

  it('carries details with non-ASCII and control characters exactly (stream)', async () => {
    const { client } = await serve({
      // eslint-disable-next-line require-yield
      watchStock: async function* () {
        await Promise.resolve();
        throw new AppError('NOT_FOUND', 'unknown SKU: a\u0007', { details: { skus: hostileSkus } });
      },
    });
    const iterate = async () => {
      for await (const message of client.watchStock({ sku: 'a' }, {})) void message;
    };
    await expect(iterate()).rejects.toMatchObject({
      code: 'NOT_FOUND',
      details: { skus: hostileSkus },
    });
  });

  it('sends a message with an unpaired surrogate (as U+FFFD) instead of failing', async () => {
    // grpc-js percent-encodes the message with encodeURI, which throws on an unpaired surrogate.
    const { client } = await serve({
      getStock: () => Promise.reject(new AppError('NOT_FOUND', 'unknown SKU: \ud800x')),
    });
    const error = await client
      .getStock({ sku: 'x' }, { deadline: inSeconds(2) })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'NOT_FOUND', message: 'unknown SKU: \ufffdx' });
  });

  it('survives a peer whose error details cannot be decoded: the code stays, details are dropped', async () => {
    // A foreign or broken server: our code key, then details that are not JSON, in both the
    // old text key and the binary one.
    const server = new Server();
    const implementation: UntypedServiceImplementation = {
      getStock: (_call: unknown, callback: (error: object) => void) => {
        const metadata = new Metadata();
        metadata.set('switchboard-error-code', 'NOT_FOUND');
        metadata.set('switchboard-error-details', '{not json');
        metadata.set('switchboard-error-details-bin', Buffer.from([0xff, 0x00, 0x7b]));
        callback({ code: GrpcStatus.NOT_FOUND, details: 'gone', metadata });
      },
    };
    server.addService(InventoryServiceService, implementation);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    cleanups.push(() => void server.forceShutdown());
    const client = createGrpcClient(InventoryServiceService, `dns:///127.0.0.1:${port}`, {
      registry: createMetricsRegistry({ service: 'grpc-test' }),
      peerName: 'inventory',
    });
    cleanups.push(() => client.close());
    const error = await client
      .getStock({ sku: 'x' }, { deadline: inSeconds(2) })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'NOT_FOUND', message: 'gone', details: undefined });
  });
});

describe('requests that are not messages of their method', () => {
  // A field that announces 5 bytes of which 1 comes: no protobuf decoder can read it.
  const truncated = Buffer.from([0x0a, 0x05, 0x61]);

  /** Sends raw bytes as the request of a method; resolves with the status it ends with. */
  async function statusOfRawCall(method: string, streaming: boolean) {
    const { port } = await serve({ watchStock: notWatching });
    const raw = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
    cleanups.push(() => raw.close());
    const path = `/switchboard.inventory.v1.InventoryService/${method}`;
    const identity = (value: Buffer) => value;
    return new Promise<{ code: GrpcStatus; details: string }>((resolve) => {
      if (streaming) {
        const stream = raw.makeServerStreamRequest(path, identity, identity, truncated);
        stream.on('status', resolve);
        stream.on('error', () => {});
      } else
        raw.makeUnaryRequest(path, identity, identity, truncated, (error) =>
          resolve(error ?? { code: GrpcStatus.OK, details: '' }),
        );
    });
  }

  it('answers INVALID_ARGUMENT, not INTERNAL, to bytes its method cannot decode (unary)', async () => {
    // grpc-js answers INTERNAL "Error deserializing request" by itself: a server fault for
    // the caller's mistake, where NATS answers INVALID_ARGUMENT to the same bytes.
    expect(await statusOfRawCall('GetStock', false)).toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
      details: 'not a GetStock request message',
    });
  });

  it('answers INVALID_ARGUMENT, not INTERNAL, to bytes its method cannot decode (stream)', async () => {
    expect(await statusOfRawCall('WatchStock', true)).toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
      details: 'not a WatchStock request message',
    });
  });
});

describe('server streams', () => {
  /** A watch that yields the stock now and then every 5 ms, until its signal aborts. */
  const ticking: Handlers['watchStock'] = async function* (request, { signal }) {
    let onHand = 5;
    while (!signal.aborted) {
      yield { stock: { ...stock(request.sku).stock!, onHand } };
      onHand += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };

  async function openStreams(registry: { metrics(): Promise<string> }): Promise<number> {
    const line = (await registry.metrics())
      .split('\n')
      .find((each) => each.startsWith('grpc_server_open_streams{'));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }

  async function eventually(check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('condition not met within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('delivers messages as they come and ends cleanly when the client stops reading', async () => {
    const { client } = await serve({ watchStock: ticking });
    const seen: number[] = [];
    for await (const { stock: update } of client.watchStock({ sku: 'sku-1' }, {})) {
      seen.push(update!.onHand);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual([5, 6, 7]);
  });

  it('maps a stream handler error through the one table', async () => {
    const { client } = await serve({
      // eslint-disable-next-line require-yield
      watchStock: async function* (request) {
        await Promise.resolve();
        throw new AppError('NOT_FOUND', `unknown SKU: ${request.sku}`, {
          details: { skus: [request.sku] },
        });
      },
    });
    const iterate = async () => {
      const messages = [];
      for await (const message of client.watchStock({ sku: 'sku-x' }, {})) messages.push(message);
      return messages;
    };
    await expect(iterate()).rejects.toMatchObject({
      code: 'NOT_FOUND',
      details: { skus: ['sku-x'] },
    });
  });

  it('1,000 watches opened and cancelled leave no stream open on the server', async () => {
    const { client, registry } = await serve({ watchStock: ticking });
    const controllers = Array.from({ length: 1_000 }, () => new AbortController());
    const firstMessages: Promise<void>[] = [];
    const watches = controllers.map(async (controller, index) => {
      let received = 0;
      let markFirst = () => {};
      firstMessages.push(new Promise((resolve) => (markFirst = resolve)));
      for await (const { stock: update } of client.watchStock(
        { sku: `sku-${index}` },
        { signal: controller.signal },
      )) {
        if (update) received += 1;
        markFirst();
      }
      return received;
    });
    await Promise.all(firstMessages);
    expect(await openStreams(registry)).toBe(1_000);

    for (const controller of controllers) controller.abort();
    const received = await Promise.all(watches);

    // Every watch got messages and ended without an error; the server closed every stream.
    expect(received.every((count) => count >= 1)).toBe(true);
    await eventually(async () => (await openStreams(registry)) === 0);
    expect(await openStreams(registry)).toBe(0);
  });
});
