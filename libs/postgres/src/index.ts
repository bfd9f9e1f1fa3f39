export { createDatabasePool, migrateDatabase, type DatabasePoolOptions } from './database.js';
export { isTransientDatabaseError } from './transient-errors.js';
export { withTransaction, type TransactionOptions } from './transaction.js';
