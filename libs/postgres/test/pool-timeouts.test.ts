import { createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDatabase, startPostgres, testLogger } from '@switchboard/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabasePool, type DatabasePoolOptions } from '../src/index.js';

const logger = testLogger('postgres-test');

function pool(options: Partial<DatabasePoolOptions> & { url: string }) {
  return createDatabasePool({
    max: 2,
    applicationName: 'pool-timeouts-test',
    connectionTimeoutMs: 5_000,
    statementTimeoutMs: 5_000,
    idleInTransactionTimeoutMs: 60_000,
    logger,
    ...options,
  });
}

describe('against a server that accepts connections and never answers', () => {
  let stalled: Server;
  const sockets: Socket[] = [];
  let port = 0;

  beforeAll(async () => {
    // What a stalled database looks like from the client: the TCP handshake succeeds (a
    // proxy, a paused container, a frozen host behind a balancer), the startup gets no reply.
    stalled = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
    port = (stalled.address() as { port: number }).port;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => stalled.close(resolve));
  });

  it('connect fails within connectionTimeoutMs, with an error that says so', async () => {
    const stalledPool = pool({
      url: `postgres://user:secret@127.0.0.1:${port}/db`,
      connectionTimeoutMs: 300,
    });
    const startedAt = performance.now();

    const outcome = await Promise.race([
      stalledPool.connect().then(
        (client) => {
          client.release();
          return 'connected';
        },
        (error: unknown) => error,
      ),
      sleep(5_000, 'still waiting'),
    ]);

    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toMatch(/timeout/i);
    expect(performance.now() - startedAt).toBeLessThan(2_000);
    await stalledPool.end();
  });
});

describe('against a real Postgres', () => {
  let container: Awaited<ReturnType<typeof startPostgres>>;
  let url: string;

  beforeAll(async () => {
    container = await startPostgres();
    url = await createDatabase(container, 'timeouts');
  });

  afterAll(async () => {
    await container?.stop();
  });

  it('cancels a statement that runs longer than statementTimeoutMs', async () => {
    const timedPool = pool({ url, statementTimeoutMs: 200 });
    const startedAt = performance.now();

    const failing = timedPool.query('SELECT pg_sleep(10)');

    await expect(failing).rejects.toMatchObject({
      code: '57014',
      message: 'canceling statement due to statement timeout',
    });
    expect(performance.now() - startedAt).toBeLessThan(5_000);
    // The connection is free again and serves the next query.
    expect((await timedPool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await timedPool.end();
  });

  it('ends a session left idle inside a transaction', async () => {
    const timedPool = pool({ url, idleInTransactionTimeoutMs: 200 });
    const client = await timedPool.connect();
    client.on('error', () => {}); // the server ends the session
    await client.query('BEGIN');

    await sleep(1_000);

    await expect(client.query('SELECT 1')).rejects.toThrow();
    client.release(true);
    await timedPool.end();
  });
});
