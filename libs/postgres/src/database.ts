import { readFile } from 'node:fs/promises';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import type { Logger } from 'pino';

export interface DatabasePoolOptions {
  /** The server, database and user; a password in it is used unless `passwordFile` is given. */
  url: string;
  /**
   * A file holding the password (a mounted secret). Read again for every new connection, so a
   * rotated password is used without a restart, and it never sits in the environment.
   */
  passwordFile?: string;
  max: number;
  /** Names the sessions in pg_stat_activity, for operators and tests. */
  applicationName: string;
  /**
   * How long `pool.connect()` (and so every query) waits for a connection: a free one from
   * the pool, or a new one from a server that may be down or stalled. Without it a call waits
   * forever, far past its caller's deadline.
   */
  connectionTimeoutMs: number;
  /**
   * Postgres cancels a statement that runs longer (`statement_timeout`, SQLSTATE 57014),
   * a row-lock wait included: an answer later than the caller's deadline helps nobody, and
   * the connection is free again. Migrations run without it.
   */
  statementTimeoutMs: number;
  /**
   * Postgres ends a session that sits inside a transaction, doing nothing, for longer
   * (`idle_in_transaction_session_timeout`): the locks of a transaction a bug left open are
   * released instead of blocking every writer.
   */
  idleInTransactionTimeoutMs: number;
  logger: Logger;
}

export function createDatabasePool(options: DatabasePoolOptions): pg.Pool {
  const { passwordFile } = options;
  const pool = new pg.Pool({
    // Parsed here rather than passed as connectionString, which pg would let override the
    // password function below.
    ...parseIntoClientConfig(options.url),
    ...(passwordFile && {
      password: async () => (await readFile(passwordFile, 'utf8')).trim(),
    }),
    max: options.max,
    application_name: options.applicationName,
    connectionTimeoutMillis: options.connectionTimeoutMs,
    // Session settings, sent when each connection starts.
    statement_timeout: options.statementTimeoutMs,
    idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs,
  });
  // An idle client that loses its connection emits here; without a listener the process dies.
  pool.on('error', (error) =>
    options.logger.error({ err: error }, 'idle database connection failed'),
  );
  return pool;
}

/**
 * Applies the pending migrations of a folder of SQL files. node-pg-migrate holds an advisory
 * lock while it runs; in 'wait' mode a second replica starting at the same time waits for the
 * first to finish (and then finds nothing to do) instead of failing its start.
 */
export async function migrateDatabase(
  pool: pg.Pool,
  options: { dir: string; logger: Logger },
): Promise<void> {
  const { logger } = options;
  const client = await pool.connect();
  try {
    // A migration may take longer than any request (an index on a big table), and the
    // advisory lock may wait for another replica's migration: no statement timeout here.
    await client.query('SET statement_timeout = 0');
    const applied = await runner({
      dbClient: client,
      dir: options.dir,
      direction: 'up',
      migrationsTable: 'pgmigrations',
      advisoryLockMode: 'wait',
      singleTransaction: true,
      logger: {
        debug: (message) => logger.debug(message),
        info: (message) => logger.debug(message),
        warn: (message) => logger.warn(message),
        error: (message) => logger.error(message),
      },
    });
    logger.info({ applied: applied.map(({ name }) => name) }, 'database migrated');
  } finally {
    // Closed, not returned: no request may run on a connection without the statement timeout.
    client.release(true);
  }
}
