import { Metadata, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import {
  AppError,
  codeOfGrpcStatus,
  grpcStatusOf,
  isErrorCode,
  type ErrorDetails,
} from '@switchboard/errors';

/**
 * Several AppError codes share one gRPC status (FAILED_PRECONDITION is both short stock and a
 * reused key), so the exact code and its details travel in trailing metadata beside the status.
 */
export const ERROR_CODE_KEY = 'switchboard-error-code';
export const ERROR_DETAILS_KEY = 'switchboard-error-details';

export function toGrpcStatus(error: AppError): Partial<StatusObject> {
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_KEY, error.code);
  if (error.details) metadata.set(ERROR_DETAILS_KEY, JSON.stringify(error.details));
  return { code: grpcStatusOf(error.code), details: error.message, metadata };
}

export function fromGrpcError(error: ServiceError, peer: string): AppError {
  const code = error.metadata?.get(ERROR_CODE_KEY)[0];
  const details = error.metadata?.get(ERROR_DETAILS_KEY)[0];
  if (isErrorCode(code)) {
    return new AppError(code, error.details, {
      details: typeof details === 'string' ? (JSON.parse(details) as ErrorDetails) : undefined,
      cause: error,
    });
  }
  // A status from the transport itself (no connection, deadline) or from a foreign server.
  const fallback = codeOfGrpcStatus(error.code);
  return new AppError(fallback, `${peer}: ${error.details || fallback.toLowerCase()}`, {
    cause: error,
  });
}
