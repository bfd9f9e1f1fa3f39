export { LOG_LEVELS, createLogger, type Logger } from './logger.js';
export {
  DURATION_BUCKETS,
  createExemplarHistogram,
  createHttpServerMetrics,
  createMetricsRegistry,
} from './metrics.js';
export { createMetricsExposition, type MetricsExposition } from './metrics-exposition.js';
export { registerHttpMetrics } from './http-metrics-plugin.js';
export { closeConnectionsWhenClosing } from './graceful-close.js';
export {
  createOpsServer,
  type CheckResult,
  type OpsServer,
  type ReadinessCheck,
  type ReadinessReport,
} from './ops-server.js';
export {
  REQUEST_ID_HEADER,
  currentRequestId,
  isValidRequestId,
  requestIdFrom,
  runWithIncomingRequestId,
  runWithRequestId,
} from './request-id.js';
