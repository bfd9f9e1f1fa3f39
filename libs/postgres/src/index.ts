export { createDatabasePool, migrateDatabase } from './database.js';
export { isTransientDatabaseError } from './transient-errors.js';
