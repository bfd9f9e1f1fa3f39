export { LOG_LEVELS, createLogger, type Logger } from './logger.js';
export { DURATION_BUCKETS, createHttpServerMetrics, createMetricsRegistry } from './metrics.js';
export { registerHttpMetrics } from './http-metrics-plugin.js';
export { createOpsServer, type OpsServer, type ReadinessCheck } from './ops-server.js';
