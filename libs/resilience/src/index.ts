export {
  createCircuitBreaker,
  isPeerFailure,
  type CircuitBreaker,
  type CircuitBreakerLogger,
  type CircuitBreakerOptions,
} from './circuit-breaker.js';
export { CIRCUIT_STATES, type CircuitState } from './circuit-state.js';
export { backoff, longestBackoffMs, type BackoffPolicy } from './backoff.js';
