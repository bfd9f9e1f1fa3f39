export {
  createLifecycle,
  type Lifecycle,
  type LifecycleLogger,
  type StopResult,
} from './lifecycle.js';
