export {
  AppError,
  ERROR_CODES,
  ERROR_TABLE,
  codeOfGrpcStatus,
  grpcStatusOf,
  httpStatusOf,
  isAppError,
  isErrorCode,
  toAppError,
  type ErrorCode,
  type ErrorDetails,
} from './app-error.js';
