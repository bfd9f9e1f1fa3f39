import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, startPostgres, testLogger } from '@switchboard/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabasePool, databasePoolOptions } from '../src/index.js';

describe('a pool whose password comes from a file (DATABASE_PASSWORD_FILE)', () => {
  let postgres: Awaited<ReturnType<typeof startPostgres>>;
  let admin: pg.Client;
  let dir: string;
  let urlWithoutPassword: string;

  beforeAll(async () => {
    postgres = await startPostgres();
    const url = new URL(await createDatabase(postgres, 'secrets'));
    admin = new pg.Client({ connectionString: postgres.getConnectionUri() });
    await admin.connect();
    await admin.query(`CREATE ROLE app LOGIN PASSWORD 'first-secret'`);
    url.username = 'app';
    url.password = '';
    urlWithoutPassword = url.toString();
    dir = await mkdtemp(join(tmpdir(), 'db-password-'));
  }, 120_000);

  afterAll(async () => {
    await admin?.end();
    await postgres?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('connects with the password in the file, and with a rotated one for new connections, without a restart', async () => {
    const passwordFile = join(dir, 'db-password');
    await writeFile(passwordFile, 'first-secret\n', { mode: 0o600 });
    const pool = createDatabasePool({
      ...databasePoolOptions({
        databaseUrl: urlWithoutPassword,
        databasePasswordFile: passwordFile,
        dbPoolMax: 1,
        dbConnectionTimeoutMs: 5_000,
        dbStatementTimeoutMs: 5_000,
        dbIdleInTransactionTimeoutMs: 60_000,
      }),
      applicationName: 'password-file-test',
      logger: testLogger('postgres-test'),
    });
    try {
      expect((await pool.query('SELECT current_user AS who')).rows).toEqual([{ who: 'app' }]);

      // Rotated: the server and the file change; the pool's open connection is dropped.
      await admin.query(`ALTER ROLE app PASSWORD 'second-secret'`);
      await writeFile(passwordFile, 'second-secret\n');
      const client = await pool.connect();
      client.release(true);

      expect((await pool.query('SELECT current_user AS who')).rows).toEqual([{ who: 'app' }]);
    } finally {
      await pool.end();
    }
  });

  it('is refused with a wrong password in the file', async () => {
    const passwordFile = join(dir, 'wrong-password');
    await writeFile(passwordFile, 'not-the-secret');
    const pool = createDatabasePool({
      url: urlWithoutPassword,
      passwordFile,
      max: 1,
      applicationName: 'password-file-test',
      connectionTimeoutMs: 5_000,
      statementTimeoutMs: 5_000,
      idleInTransactionTimeoutMs: 60_000,
      logger: testLogger('postgres-test'),
    });
    try {
      await expect(pool.query('SELECT 1')).rejects.toThrow(/password authentication failed/);
    } finally {
      await pool.end();
    }
  });
});
