export {
  createLifecycle,
  type Lifecycle,
  type LifecycleLogger,
  type StopResult,
} from './lifecycle.js';
export {
  FATAL_EXIT_CODE,
  createFatalErrorHandler,
  type FatalErrorHandler,
  type FatalErrorOptions,
} from './fatal-errors.js';
