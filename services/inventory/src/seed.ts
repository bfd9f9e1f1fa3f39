import { createLogger } from '@switchboard/observability';
import { databasePoolOptions } from '@switchboard/postgres';
import { createDatabasePool, migrateDatabase } from './adapters/database.js';
import { createInventoryRepository } from './adapters/inventory-repository.js';
import { readSeedFile } from './adapters/seed-file.js';
import { readConfig } from './config.js';

// `node dist/seed.js <products.json>` (npm run seed -- <file>): migrates the database of
// DATABASE_URL and seeds the products of the file. New products get their onHand; known
// products keep their stock, so running it again never undoes sales.

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node dist/seed.js <products.json>   (DATABASE_URL must be set)\n');
  process.exit(2);
}

// Only DATABASE_URL, the DB_* settings and LOG_LEVEL matter here; the rest take their defaults.
let config: ReturnType<typeof readConfig>;
try {
  config = readConfig(process.env);
} catch (error) {
  process.stderr.write(`seed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

const logger = createLogger({ service: 'inventory-seed', level: config.logLevel });
const pool = createDatabasePool({ ...databasePoolOptions(config), max: 1, logger });
try {
  const products = await readSeedFile(file);
  await migrateDatabase(pool, logger);
  await createInventoryRepository(pool).seedProducts(products);
  logger.info({ file, products: products.length }, 'products seeded');
} catch (error) {
  process.stderr.write(`seed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
