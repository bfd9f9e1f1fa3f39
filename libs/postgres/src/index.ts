export { createDatabasePool, migrateDatabase, type DatabasePoolOptions } from './database.js';
export { databasePoolOptions, type DatabaseConfig } from './pool-options.js';
export { isTransientDatabaseError } from './transient-errors.js';
export {
  reportingTransientAsUnavailable,
  unavailableIfTransient,
} from './unavailable-when-transient.js';
export { databaseUrlUsesTls } from './url-tls.js';
export { withTransaction, type TransactionOptions } from './transaction.js';
export {
  createGroupCommit,
  type Batched,
  type GroupCommit,
  type GroupCommitOptions,
  type Outcome,
} from './group-commit.js';
