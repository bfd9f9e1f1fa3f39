export {
  StoppedWhileStartingError,
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
export {
  EXIT_CODES,
  readConfigOrExit,
  runService,
  type RunServiceOptions,
  type ServiceApp,
  type ServiceLogger,
} from './run-service.js';
export {
  createPeriodicWorker,
  type Pause,
  type PeriodicWorker,
  type PeriodicWorkerOptions,
  type WorkerLogger,
} from './periodic-worker.js';
export { becomeReady } from './readiness.js';
