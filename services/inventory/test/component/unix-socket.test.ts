import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InventoryServiceService } from '@switchboard/contracts';
import { createGrpcClient } from '@switchboard/grpc';
import { createMetricsRegistry } from '@switchboard/observability';
import type { SocketReport } from '@switchboard/sockets';
import { startPostgres } from '@switchboard/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freshDatabase,
  givenStock,
  inSeconds,
  startInventoryApp,
  type PostgresContainer,
} from '../support/inventory-under-test.js';

let container: PostgresContainer;
let scratch: string;
let databaseUrl: string;

beforeAll(async () => {
  container = await startPostgres();
  scratch = await mkdtemp(join(tmpdir(), 'inventory-uds-'));
  const { url, pool } = await freshDatabase(container, 'unix_socket');
  // The first start creates the tables; the products go in after it.
  const first = await startInventoryApp(url);
  await first.app.stop();
  await givenStock(pool, { 'sku-uds': 7 });
  await pool.end();
  databaseUrl = url;
});

afterAll(async () => {
  await container?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

function clientFor(socketPath: string) {
  return createGrpcClient(InventoryServiceService, `unix://${socketPath}`, {
    registry: createMetricsRegistry({ service: 'uds-test-client' }),
    peerName: 'inventory',
  });
}

describe('gRPC over a Unix-domain socket', () => {
  it('serves the same API on the socket as on TCP, owner and group only, and removes the file on stop', async () => {
    const socketPath = join(scratch, 'run', 'inventory.sock');
    const inventory = await startInventoryApp(databaseUrl, { GRPC_SOCKET_PATH: socketPath });
    const client = clientFor(socketPath);
    try {
      const { stock } = await client.getStock({ sku: 'sku-uds' }, inSeconds(5));
      expect(stock).toMatchObject({ sku: 'sku-uds', available: 7 });
      expect(statSync(socketPath).mode & 0o777).toBe(0o660);
      expect(statSync(join(scratch, 'run')).mode & 0o777).toBe(0o750);
    } finally {
      client.close();
      await inventory.app.stop();
    }
    expect(existsSync(socketPath)).toBe(false);
  });

  it('declares its sockets at GET /sockets beside those it holds: both gRPC listeners, the socket 0660, its peers', async () => {
    const socketPath = join(scratch, 'declared', 'inventory.sock');
    const inventory = await startInventoryApp(databaseUrl, { GRPC_SOCKET_PATH: socketPath });
    try {
      const response = await fetch(`${inventory.opsUrl}/sockets`);
      expect(response.status).toBe(200);
      const report = (await response.json()) as SocketReport;
      const opsPort = Number(new URL(inventory.opsUrl).port);
      const described = report.sockets.map((socket) => [
        socket.role,
        socket.declaredAs,
        socket.local,
      ]);
      expect(described).toEqual(
        expect.arrayContaining([
          ['listener', 'grpc', `127.0.0.1:${inventory.grpcPort}`],
          ['listener', 'grpc-socket', socketPath],
          ['listener', 'ops', `127.0.0.1:${opsPort}`],
        ]),
      );
      // The pool's connection to Postgres and the NATS connection, named by their peers. (The
      // test process holds this fetch's own client socket too: an outbound nothing declares.)
      const peers = report.sockets
        .filter((socket) => socket.role === 'outbound')
        .map((socket) => socket.declaredAs);
      expect(peers).toEqual(expect.arrayContaining(['postgres', 'nats']));
      expect(report.socketFiles).toEqual([
        { path: socketPath, mode: '0660', expectedMode: '0660' },
      ]);
      const ours = report.undeclaredListeners.filter((socket) =>
        report.sockets.some((own) => own.inode === socket.inode),
      );
      expect(ours).toEqual([]);
    } finally {
      await inventory.app.stop();
    }
  });

  it('refuses to start on a socket that a live inventory serves, naming the path, and leaves it working', async () => {
    const socketPath = join(scratch, 'live.sock');
    const first = await startInventoryApp(databaseUrl, { GRPC_SOCKET_PATH: socketPath });
    const client = clientFor(socketPath);
    try {
      await expect(
        startInventoryApp(databaseUrl, { GRPC_SOCKET_PATH: socketPath }),
      ).rejects.toThrow(`another process is serving ${socketPath}`);
      const { stock } = await client.getStock({ sku: 'sku-uds' }, inSeconds(5));
      expect(stock?.available).toBe(7);
    } finally {
      client.close();
      await first.app.stop();
    }
  });

  it('takes over a socket file left behind by a crashed process', async () => {
    const socketPath = join(scratch, 'stale.sock');
    // A process binds the path and dies by SIGKILL, as a crash leaves it.
    const script = `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`;
    spawnSync(process.execPath, ['-e', script]);
    expect(statSync(socketPath).isSocket()).toBe(true);

    const inventory = await startInventoryApp(databaseUrl, { GRPC_SOCKET_PATH: socketPath });
    const client = clientFor(socketPath);
    try {
      const { stock } = await client.getStock({ sku: 'sku-uds' }, inSeconds(5));
      expect(stock?.available).toBe(7);
    } finally {
      client.close();
      await inventory.app.stop();
    }
  });
});
