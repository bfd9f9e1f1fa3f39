import { status as GrpcStatus } from '@grpc/grpc-js';

/**
 * The closed set of error codes. Domain code throws AppError with one of these; the edges
 * (HTTP, gRPC, NATS) turn it into their own status through ERROR_TABLE and nowhere else.
 */
export const ERROR_CODES = [
  'INVALID_ARGUMENT',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'INSUFFICIENT_STOCK',
  'IDEMPOTENCY_KEY_REUSED',
  'IDEMPOTENCY_KEY_IN_USE',
  'UNAVAILABLE',
  'OVERLOADED',
  'DEADLINE_EXCEEDED',
  'CANCELLED',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Details that travel with an error across every transport (JSON-serialisable). */
export type ErrorDetails = Record<string, unknown>;

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;
  readonly details: ErrorDetails | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { details?: ErrorDetails; cause?: unknown },
  ) {
    super(message, { cause: options?.cause });
    this.code = code;
    this.details = options?.details;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** Anything that is not an AppError is INTERNAL: we never guess a code from a message. */
export function toAppError(error: unknown): AppError {
  if (isAppError(error)) return error;
  return new AppError('INTERNAL', 'internal error', { cause: error });
}

interface Mapping {
  grpc: GrpcStatus;
  http: number;
  /**
   * The NATS services API error code (`Nats-Service-Error-Code`). The micro protocol leaves
   * the numbers to us; the common convention is the HTTP status, so that is what we send.
   */
  nats: number;
}

/** THE table: every code's gRPC status, HTTP status and NATS service error code. */
export const ERROR_TABLE: Readonly<Record<ErrorCode, Mapping>> = {
  INVALID_ARGUMENT: { grpc: GrpcStatus.INVALID_ARGUMENT, http: 400, nats: 400 },
  NOT_FOUND: { grpc: GrpcStatus.NOT_FOUND, http: 404, nats: 404 },
  ALREADY_EXISTS: { grpc: GrpcStatus.ALREADY_EXISTS, http: 409, nats: 409 },
  INSUFFICIENT_STOCK: { grpc: GrpcStatus.FAILED_PRECONDITION, http: 409, nats: 409 },
  IDEMPOTENCY_KEY_REUSED: { grpc: GrpcStatus.FAILED_PRECONDITION, http: 422, nats: 422 },
  IDEMPOTENCY_KEY_IN_USE: { grpc: GrpcStatus.ABORTED, http: 409, nats: 409 },
  UNAVAILABLE: { grpc: GrpcStatus.UNAVAILABLE, http: 503, nats: 503 },
  // Refused before it started, to protect the server (admission control): safe to retry
  // later, and not a sign that the peer is down (a circuit breaker does not count it).
  OVERLOADED: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, http: 503, nats: 503 },
  DEADLINE_EXCEEDED: { grpc: GrpcStatus.DEADLINE_EXCEEDED, http: 504, nats: 504 },
  CANCELLED: { grpc: GrpcStatus.CANCELLED, http: 499, nats: 499 },
  INTERNAL: { grpc: GrpcStatus.INTERNAL, http: 500, nats: 500 },
};

export function httpStatusOf(code: ErrorCode): number {
  return ERROR_TABLE[code].http;
}

export function grpcStatusOf(code: ErrorCode): GrpcStatus {
  return ERROR_TABLE[code].grpc;
}

export function natsServiceErrorOf(code: ErrorCode): number {
  return ERROR_TABLE[code].nats;
}

/**
 * The code for a NATS service error that came without our error-code header (a foreign
 * service). As with gRPC, only unambiguous numbers are mapped; everything else is INTERNAL.
 */
export function codeOfNatsServiceError(serviceErrorCode: number): ErrorCode {
  switch (serviceErrorCode) {
    case 400:
      return 'INVALID_ARGUMENT';
    case 404:
      return 'NOT_FOUND';
    case 499:
      return 'CANCELLED';
    case 503:
      return 'UNAVAILABLE';
    case 504:
      return 'DEADLINE_EXCEEDED';
    default:
      return 'INTERNAL';
  }
}

/**
 * The code for a gRPC status that came without our error-code metadata (from the transport
 * itself or a foreign server). Several codes share FAILED_PRECONDITION, so this is only the
 * fallback; servers built on @switchboard/grpc always send the exact code.
 */
export function codeOfGrpcStatus(status: GrpcStatus): ErrorCode {
  switch (status) {
    case GrpcStatus.INVALID_ARGUMENT:
    case GrpcStatus.OUT_OF_RANGE:
      return 'INVALID_ARGUMENT';
    case GrpcStatus.NOT_FOUND:
      return 'NOT_FOUND';
    case GrpcStatus.ALREADY_EXISTS:
      return 'ALREADY_EXISTS';
    case GrpcStatus.UNAVAILABLE:
      return 'UNAVAILABLE';
    case GrpcStatus.DEADLINE_EXCEEDED:
      return 'DEADLINE_EXCEEDED';
    case GrpcStatus.CANCELLED:
      return 'CANCELLED';
    default:
      return 'INTERNAL';
  }
}
