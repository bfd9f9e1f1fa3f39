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
 *
 * The details hold what the caller sent (an unknown SKU, an order id), so they may hold any
 * Unicode. A plain metadata value must be printable ASCII and grpc-js throws on anything else,
 * so the details travel in a `-bin` key: UTF-8 JSON bytes, which grpc-js base64-encodes on the
 * wire. No string can fail to encode that way.
 */
export const ERROR_CODE_KEY = 'switchboard-error-code';
export const ERROR_DETAILS_KEY = 'switchboard-error-details-bin';

export function toGrpcStatus(error: AppError): Partial<StatusObject> {
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_KEY, error.code);
  if (error.details) metadata.set(ERROR_DETAILS_KEY, Buffer.from(JSON.stringify(error.details)));
  // grpc-js percent-encodes the message with encodeURI, which throws on an unpaired surrogate:
  // replace those (with U+FFFD) so that any message can be sent.
  return { code: grpcStatusOf(error.code), details: error.message.toWellFormed(), metadata };
}

export function fromGrpcError(error: ServiceError, peer: string): AppError {
  const code = error.metadata?.get(ERROR_CODE_KEY)[0];
  if (isErrorCode(code)) {
    return new AppError(code, error.details, {
      details: decodeDetails(error.metadata.get(ERROR_DETAILS_KEY)[0]),
      cause: error,
    });
  }
  // A status from the transport itself (no connection, deadline) or from a foreign server.
  const fallback = codeOfGrpcStatus(error.code);
  return new AppError(fallback, `${peer}: ${error.details || fallback.toLowerCase()}`, {
    cause: error,
  });
}

/**
 * The details of an answer, or undefined when they are missing or not a JSON object: a peer
 * that sends something else loses its details, never crashes the caller.
 */
function decodeDetails(value: unknown): ErrorDetails | undefined {
  if (!Buffer.isBuffer(value)) return undefined;
  try {
    const details: unknown = JSON.parse(value.toString('utf8'));
    return typeof details === 'object' && details !== null && !Array.isArray(details)
      ? (details as ErrorDetails)
      : undefined;
  } catch {
    return undefined;
  }
}
