export {
  DEFAULT_SERVER_OPTIONS,
  createGrpcServer,
  type CallContext,
  type GrpcServer,
  type UnaryHandlers,
} from './grpc-server.js';
export {
  DEFAULT_CLIENT_OPTIONS,
  createGrpcClient,
  type GrpcClient,
  type UnaryCallOptions,
} from './grpc-client.js';
export { ERROR_CODE_KEY, ERROR_DETAILS_KEY } from './errors.js';
export type { ServiceDefinition, UnaryMethodDefinition } from './types.js';
