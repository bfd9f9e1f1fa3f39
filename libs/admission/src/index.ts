export {
  createAdaptiveLimiter,
  type AcquireOptions,
  type AdaptiveLimiter,
  type AdaptiveLimiterOptions,
  type Admission,
  type Outcome,
  type Permit,
} from './adaptive-limiter.js';
export { outcomeOf, refusal, runAdmitted } from './admitted.js';
export {
  createGradientLimit,
  type GradientLimit,
  type GradientLimitOptions,
} from './gradient-limit.js';
export { createRetryAfter, type RetryAfter, type RetryAfterOptions } from './retry-after.js';
export { SHED_REASONS, type ShedReason } from './metrics.js';
export { limitRangeProblem } from './settings.js';
