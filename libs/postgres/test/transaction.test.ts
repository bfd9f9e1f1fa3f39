import { createDatabase, startPostgres, testLogger } from '@switchboard/testing';
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDatabasePool, withTransaction } from '../src/index.js';

const logger = testLogger('postgres-test');
let container: Awaited<ReturnType<typeof startPostgres>>;
let pool: pg.Pool;

beforeAll(async () => {
  container = await startPostgres();
  pool = createDatabasePool({
    url: await createDatabase(container, 'transactions'),
    max: 2,
    applicationName: 'transaction-test',
    connectionTimeoutMs: 5_000,
    statementTimeoutMs: 5_000,
    idleInTransactionTimeoutMs: 60_000,
    logger,
  });
  await pool.query('CREATE TABLE notes (text text NOT NULL)');
});

afterAll(async () => {
  await pool?.end();
  await container?.stop();
});

beforeEach(async () => {
  await pool.query('TRUNCATE notes');
});

async function notes(): Promise<string[]> {
  const { rows } = await pool.query<{ text: string }>('SELECT text FROM notes ORDER BY text');
  return rows.map(({ text }) => text);
}

async function backendIsAlive(pid: number): Promise<boolean> {
  const { rows } = await pool.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
  return rows.length === 1;
}

describe('withTransaction', () => {
  it('commits what the work did and returns its result', async () => {
    const result = await withTransaction(pool, async (client) => {
      await client.query(`INSERT INTO notes VALUES ('a'), ('b')`);
      return 'done';
    });

    expect(result).toBe('done');
    expect(await notes()).toEqual(['a', 'b']);
  });

  it('rolls back when the work throws, rethrows, and returns the client to the pool', async () => {
    let pid = 0;
    const failing = withTransaction(pool, async (client) => {
      pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await client.query(`INSERT INTO notes VALUES ('a')`);
      throw new Error('the work failed');
    });

    await expect(failing).rejects.toThrow('the work failed');
    expect(await notes()).toEqual([]);
    expect(await backendIsAlive(pid)).toBe(true);
  });

  it('destroys a client whose ROLLBACK failed instead of returning it to the pool', async () => {
    let pid = 0;
    const failing = withTransaction(pool, async (client) => {
      pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      // The connection is alive, but its ROLLBACK fails: its state is unknown.
      const query = client.query.bind(client) as (text: string) => Promise<unknown>;
      Object.assign(client, {
        query: (text: string) =>
          text === 'ROLLBACK' ? Promise.reject(new Error('rollback failed')) : query(text),
      });
      throw new Error('the work failed');
    });

    await expect(failing).rejects.toThrow('the work failed');
    await expect.poll(() => backendIsAlive(pid)).toBe(false);
  });

  it('rolls back when COMMIT fails', async () => {
    await pool.query(
      'CREATE TABLE IF NOT EXISTS unique_notes (text text PRIMARY KEY DEFERRABLE INITIALLY DEFERRED)',
    );
    await pool.query('TRUNCATE unique_notes');

    const failing = withTransaction(pool, async (client) => {
      await client.query(`INSERT INTO notes VALUES ('a')`);
      // Checked at COMMIT only.
      await client.query(`INSERT INTO unique_notes VALUES ('x'), ('x')`);
    });

    await expect(failing).rejects.toMatchObject({ code: '23505' });
    expect(await notes()).toEqual([]);
    // The pool still works: the client came back usable.
    expect(await withTransaction(pool, () => Promise.resolve('ok'))).toBe('ok');
  });

  it('does not even take a connection for a caller who already gave up', async () => {
    const gaveUp = AbortSignal.abort(new Error('caller gave up'));
    let ran = false;

    const failing = withTransaction(
      pool,
      () => {
        ran = true;
        return Promise.resolve();
      },
      { signal: gaveUp },
    );

    await expect(failing).rejects.toThrow('caller gave up');
    expect(ran).toBe(false);
  });

  it('rolls back instead of committing when the caller gives up during the work', async () => {
    const caller = new AbortController();

    const failing = withTransaction(
      pool,
      async (client) => {
        await client.query(`INSERT INTO notes VALUES ('a')`);
        caller.abort(new Error('caller gave up'));
      },
      { signal: caller.signal },
    );

    await expect(failing).rejects.toThrow('caller gave up');
    expect(await notes()).toEqual([]);
  });
});
