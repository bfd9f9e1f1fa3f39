export {
  DEFAULT_SERVER_OPTIONS,
  createGrpcServer,
  type CallContext,
  type GrpcServer,
  type ServiceHandlers,
  type StreamHandler,
} from './grpc-server.js';
export {
  DEFAULT_CLIENT_OPTIONS,
  createGrpcClient,
  type GrpcClient,
  type GrpcClientOptions,
  type StreamCallOptions,
  type UnaryCallOptions,
} from './grpc-client.js';
export {
  DEFAULT_RETRY_POLICY,
  serviceConfigFor,
  type MethodPolicies,
  type MethodPolicy,
  type RetryPolicy,
} from './service-config.js';
export { SERVER_KEEPALIVE_POLICY, keepaliveProblems, type KeepalivePolicy } from './keepalive.js';
export { CHANNEL_STATES, type ChannelState } from './metrics.js';
export { ERROR_CODE_KEY, ERROR_DETAILS_KEY } from './errors.js';
export type {
  MethodDefinition,
  ServerStreamingMethodDefinition,
  ServiceDefinition,
  UnaryMethodDefinition,
} from './types.js';
export {
  createClientTlsCredentials,
  createServerTlsCredentials,
  serverIdentityProblem,
  type ClientTlsOptions,
  type TlsCredentials,
} from './tls-credentials.js';
export {
  createCertificateReloader,
  type CertificateReloader,
  type LoadedCertificate,
  type TlsFiles,
} from './certificate-reloader.js';
