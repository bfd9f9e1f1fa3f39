import { fileURLToPath } from 'node:url';
import {
  createDatabasePool as createPool,
  migrateDatabase as migrate,
  type DatabasePoolOptions,
} from '@switchboard/postgres';
import type pg from 'pg';
import type { Logger } from '@switchboard/observability';

/** services/inventory/migrations, from src/adapters (tests) and dist/adapters (the image) alike. */
const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

export function createDatabasePool(
  options: Omit<DatabasePoolOptions, 'applicationName' | 'logger'> & { logger: Logger },
): pg.Pool {
  return createPool({ ...options, applicationName: 'inventory' });
}

export function migrateDatabase(pool: pg.Pool, logger: Logger): Promise<void> {
  return migrate(pool, { dir: MIGRATIONS_DIR, logger });
}
