import { Metadata, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import {
  AppError,
  codeOfGrpcStatus,
  fromWireError,
  grpcStatusOf,
  toWireError,
} from '@switchboard/errors';

/**
 * Several AppError codes share one gRPC status (FAILED_PRECONDITION is both short stock and a
 * reused key), so the exact code and its details travel in trailing metadata beside the status
 * (ADR 3). What they hold is `@switchboard/errors`' wire form; this file is only its framing.
 * The status numbers are the spec's, plain numbers in that table (test/status-numbers.test.ts).
 *
 * The details hold what the caller sent (an unknown SKU, an order id), so they may hold any
 * Unicode. A plain metadata value must be printable ASCII and grpc-js throws on anything else,
 * so the details travel in a `-bin` key: UTF-8 JSON bytes, which grpc-js base64-encodes on the
 * wire. No string can fail to encode that way.
 */
export const ERROR_CODE_KEY = 'switchboard-error-code';
export const ERROR_DETAILS_KEY = 'switchboard-error-details-bin';

export function toGrpcStatus(error: AppError): Partial<StatusObject> {
  const wire = toWireError(error);
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_KEY, wire.code);
  if (wire.details) metadata.set(ERROR_DETAILS_KEY, Buffer.from(wire.details));
  // The message is well-formed: grpc-js percent-encodes it with encodeURI, which throws on an
  // unpaired surrogate.
  return { code: grpcStatusOf(error.code), details: wire.message, metadata };
}

export function fromGrpcError(error: ServiceError, peer: string): AppError {
  const details = error.metadata?.get(ERROR_DETAILS_KEY)[0];
  const appError = fromWireError(
    {
      code: error.metadata?.get(ERROR_CODE_KEY)[0],
      message: error.details,
      details: Buffer.isBuffer(details) ? details : undefined,
    },
    { cause: error },
  );
  if (appError) return appError;
  // A status from the transport itself (no connection, deadline) or from a foreign server.
  const fallback = codeOfGrpcStatus(error.code);
  return new AppError(fallback, `${peer}: ${error.details || fallback.toLowerCase()}`, {
    cause: error,
  });
}
