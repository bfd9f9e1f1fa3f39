import type { DatabasePoolOptions } from './database.js';

/** The database settings each service reads from its environment, under the same names. */
export interface DatabaseConfig {
  databaseUrl: string;
  /** DATABASE_PASSWORD_FILE: the password, from a mounted secret rather than the URL. */
  databasePasswordFile?: string | undefined;
  dbPoolMax: number;
  dbConnectionTimeoutMs: number;
  dbStatementTimeoutMs: number;
  dbIdleInTransactionTimeoutMs: number;
}

/**
 * The pool's settings from a service's config, as `createDatabasePool` takes them; the service
 * adds its logger and its application name.
 */
export function databasePoolOptions(
  config: DatabaseConfig,
): Omit<DatabasePoolOptions, 'applicationName' | 'logger'> {
  return {
    url: config.databaseUrl,
    ...(config.databasePasswordFile && { passwordFile: config.databasePasswordFile }),
    max: config.dbPoolMax,
    connectionTimeoutMs: config.dbConnectionTimeoutMs,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    idleInTransactionTimeoutMs: config.dbIdleInTransactionTimeoutMs,
  };
}
