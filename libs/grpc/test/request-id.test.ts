import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InventoryServiceService } from '@switchboard/contracts';
import { AppError } from '@switchboard/errors';
import { createMetricsRegistry, runWithRequestId } from '@switchboard/observability';
import { capturingLogger } from '@switchboard/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createGrpcClient, createGrpcServer } from '../src/index.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const notImplemented = () => Promise.reject(new AppError('INTERNAL', 'not in this test'));

/** A server whose GetStock handler writes one log line, on TCP or on a Unix-domain socket. */
async function serve(transport: 'tcp' | 'uds') {
  const { logger, lines } = capturingLogger('inventory');
  const registry = createMetricsRegistry({ service: 'grpc-test' });
  const server = createGrpcServer({ logger, registry });
  server.addService(InventoryServiceService, {
    reserve: notImplemented,
    release: notImplemented,
    listStock: notImplemented,
    watchStock: () => ({
      [Symbol.asyncIterator]: () => ({
        next: () => Promise.resolve({ done: true, value: undefined }),
      }),
    }),
    getStock: (request) => {
      logger.info({ sku: request.sku }, 'stock read');
      return Promise.resolve({
        stock: { sku: request.sku, name: 'x', onHand: 1, reserved: 0, available: 1 },
      });
    },
  });
  let target: string;
  if (transport === 'tcp') {
    target = `dns:///127.0.0.1:${await server.listen('127.0.0.1:0')}`;
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'grpc-request-id-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    await server.listen(`unix://${dir}/inventory.sock`);
    target = `unix://${dir}/inventory.sock`;
  }
  cleanups.push(() => server.drain(100));
  const client = createGrpcClient(InventoryServiceService, target, {
    registry,
    peerName: 'inventory',
  });
  cleanups.push(() => client.close());
  return { client, lines };
}

const inSeconds = (s: number) => new Date(Date.now() + s * 1000);

describe.each(['tcp', 'uds'] as const)('the request id over gRPC (%s)', (transport) => {
  it("is passed on in the call's metadata and written in the server's log lines", async () => {
    const { client, lines } = await serve(transport);
    await runWithRequestId('req-grpc-1', () =>
      client.getStock({ sku: 'sku-1' }, { deadline: inSeconds(2) }),
    );
    expect(lines.find((line) => line.msg === 'stock read')).toMatchObject({
      sku: 'sku-1',
      requestId: 'req-grpc-1',
    });
  });

  it('is absent from the log lines of a call no request started', async () => {
    const { client, lines } = await serve(transport);
    await client.getStock({ sku: 'sku-2' }, { deadline: inSeconds(2) });
    const line = lines.find((each) => each.msg === 'stock read');
    expect(line).toMatchObject({ sku: 'sku-2' });
    expect(line).not.toHaveProperty('requestId');
  });
});
