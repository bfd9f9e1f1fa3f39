export { createDatabasePool, migrateDatabase } from './database.js';
