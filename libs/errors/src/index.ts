export {
  AppError,
  ERROR_CODES,
  isAppError,
  isErrorCode,
  toAppError,
  type ErrorCode,
  type ErrorDetails,
} from './app-error.js';
export {
  ERROR_TABLE,
  GRPC_STATUS,
  codeOfGrpcStatus,
  codeOfNatsServiceError,
  grpcStatusOf,
  httpStatusOf,
  natsServiceErrorOf,
} from './error-table.js';
export { fromWireError, singleLineMessage, toWireError, type WireError } from './wire-error.js';
