export { REPO_ROOT, composeImage } from './compose-images.js';
export { startContainer } from './start-container.js';
export { POSTGRES_ALIAS, createDatabase, databaseUrlInNetwork, startPostgres } from './postgres.js';
export { startInventory, type SeedProduct } from './inventory-container.js';
export { NATS_ALIAS, startNats, type NatsOptions, type StartedNats } from './nats.js';
export { freePort } from './free-port.js';
export { kubectlAvailable } from './kubectl.js';
export {
  startServiceProcess,
  type ProcessExit,
  type ServiceProcess,
  type ServiceProcessOptions,
} from './service-process.js';
export {
  opsUrl,
  startInventoryProcess,
  startPurchaseProcess,
  type InventoryPorts,
  type InventoryProcess,
  type PurchasePorts,
  type PurchaseProcess,
  type ServiceStartOptions,
} from './service-processes.js';
export { capturingLogger, testLogger } from './test-logger.js';
export {
  DEFAULT_FUZZ_RUNS,
  formatFuzzReport,
  fuzz,
  fuzzRuns,
  garbageBytes,
  hostileCharacter,
  hostileJson,
  hostileJsonText,
  hostileNumber,
  hostileString,
  type FuzzReport,
} from './fuzz.js';
export {
  startOtlpReceiver,
  type OtlpReceiver,
  type ReceivedSpan,
  type SpanKindName,
} from './otlp-receiver.js';
export { createLossyLink, type LossyLink, type LossyLinkOptions, type Loss } from './lossy-link.js';
export { startCountingProxy, type CountingProxy } from './counting-proxy.js';
export { composeProject, type ComposeProject } from './compose-project.js';
export {
  openSlowSocket,
  type SlowPart,
  type SlowSocketOptions,
  type SlowSocketResult,
} from './slow-socket.js';
export { histogramSumAndCount } from './histogram-text.js';
export { startPostgresAndNats } from './postgres-and-nats.js';
