import { runner } from 'node-pg-migrate';
import pg from 'pg';
import type { Logger } from 'pino';

export function createDatabasePool(options: {
  url: string;
  max: number;
  /** Names the sessions in pg_stat_activity, for operators and tests. */
  applicationName: string;
  logger: Logger;
}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max,
    application_name: options.applicationName,
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
    client.release();
  }
}
