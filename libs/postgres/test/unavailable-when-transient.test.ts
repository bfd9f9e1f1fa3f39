import { createServer, type Server, type Socket } from 'node:net';
import { AppError } from '@switchboard/errors';
import { createDatabase, startPostgres, testLogger } from '@switchboard/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDatabasePool,
  isTransientDatabaseError,
  reportingTransientAsUnavailable,
  withTransaction,
} from '../src/index.js';

const logger = testLogger('postgres-test');

function pool(url: string, options: { connectionTimeoutMs?: number; statementTimeoutMs?: number }) {
  return createDatabasePool({
    url,
    max: 2,
    applicationName: 'unavailable-test',
    connectionTimeoutMs: options.connectionTimeoutMs ?? 5_000,
    statementTimeoutMs: options.statementTimeoutMs ?? 5_000,
    idleInTransactionTimeoutMs: 60_000,
    logger,
  });
}

/** A store as the services write one: each method a query or a transaction. */
function storeOver(db: pg.Pool) {
  return reportingTransientAsUnavailable({
    async sleep(seconds: number) {
      await db.query('SELECT pg_sleep($1)', [seconds]);
    },
    async inTransaction(sql: string) {
      await withTransaction(db, async (client) => void (await client.query(sql)));
    },
    async count() {
      return Number((await db.query('SELECT count(*) FROM no_such_table')).rows[0].count);
    },
  });
}

async function failureOf(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => 'resolved',
    (error: unknown) => error,
  );
}

describe('a store whose database is busy or gone', () => {
  let postgres: Awaited<ReturnType<typeof startPostgres>>;
  let url: string;
  let stalled: Server;
  const stalledSockets: Socket[] = [];
  let stalledUrl: string;

  beforeAll(async () => {
    postgres = await startPostgres();
    url = await createDatabase(postgres, 'unavailable');
    // A server that accepts and never answers: the pool's wait for a connection times out.
    stalled = createServer((socket) => void stalledSockets.push(socket));
    await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
    stalledUrl = `postgres://user:secret@127.0.0.1:${(stalled.address() as { port: number }).port}/db`;
  }, 120_000);

  afterAll(async () => {
    for (const socket of stalledSockets) socket.destroy();
    await new Promise((resolve) => stalled.close(resolve));
    await postgres?.stop();
  });

  it('a statement cancelled by the statement timeout is UNAVAILABLE, with the cause kept', async () => {
    const db = pool(url, { statementTimeoutMs: 200 });
    try {
      const error = await failureOf(storeOver(db).sleep(5));

      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('UNAVAILABLE');
      expect(((error as AppError).cause as { code: string }).code).toBe('57014');
      // Still recognised as transient, so a message consumer keeps retrying it.
      expect(isTransientDatabaseError(error)).toBe(true);
    } finally {
      await db.end();
    }
  });

  it('a transaction whose statement the server cancels is UNAVAILABLE', async () => {
    const db = pool(url, {});
    try {
      const error = await failureOf(
        storeOver(db).inTransaction(
          `DO $$ BEGIN RAISE EXCEPTION 'canceling statement' USING ERRCODE = 'query_canceled'; END $$`,
        ),
      );

      expect((error as AppError).code).toBe('UNAVAILABLE');
    } finally {
      await db.end();
    }
  });

  it('a database that does not answer within the connection timeout is UNAVAILABLE', async () => {
    const db = pool(stalledUrl, { connectionTimeoutMs: 200 });
    try {
      const error = await failureOf(storeOver(db).sleep(0));

      expect((error as AppError).code).toBe('UNAVAILABLE');
    } finally {
      await db.end();
    }
  });

  it('a failure that is the statement’s own (an unknown table) passes unchanged', async () => {
    const db = pool(url, {});
    try {
      const error = await failureOf(storeOver(db).count());

      expect(error).not.toBeInstanceOf(AppError);
      expect((error as { code: string }).code).toBe('42P01');
      expect(isTransientDatabaseError(error)).toBe(false);
    } finally {
      await db.end();
    }
  });
});
