import type { ErrorCode } from './app-error.js';

/**
 * The gRPC status numbers the table uses, as the gRPC spec fixes them (doc/statuscodes.md).
 * Plain numbers, so this lib loads no transport; `@switchboard/grpc` checks them against
 * grpc-js's `status` enum and hands them to grpc-js with that type.
 */
export const GRPC_STATUS = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

interface Mapping {
  /** A gRPC status number (GRPC_STATUS). */
  grpc: number;
  http: number;
  /**
   * The NATS services API error code (`Nats-Service-Error-Code`). The micro protocol leaves
   * the numbers to us; the common convention is the HTTP status, so that is what we send.
   */
  nats: number;
}

/** THE table: every code's gRPC status, HTTP status and NATS service error code. */
export const ERROR_TABLE: Readonly<Record<ErrorCode, Mapping>> = {
  INVALID_ARGUMENT: { grpc: GRPC_STATUS.INVALID_ARGUMENT, http: 400, nats: 400 },
  NOT_FOUND: { grpc: GRPC_STATUS.NOT_FOUND, http: 404, nats: 404 },
  ALREADY_EXISTS: { grpc: GRPC_STATUS.ALREADY_EXISTS, http: 409, nats: 409 },
  INSUFFICIENT_STOCK: { grpc: GRPC_STATUS.FAILED_PRECONDITION, http: 409, nats: 409 },
  IDEMPOTENCY_KEY_REUSED: { grpc: GRPC_STATUS.FAILED_PRECONDITION, http: 422, nats: 422 },
  IDEMPOTENCY_KEY_IN_USE: { grpc: GRPC_STATUS.ABORTED, http: 409, nats: 409 },
  UNAVAILABLE: { grpc: GRPC_STATUS.UNAVAILABLE, http: 503, nats: 503 },
  // Refused before it started, to protect the server (admission control): safe to retry
  // later, and not a sign that the peer is down (a circuit breaker does not count it).
  OVERLOADED: { grpc: GRPC_STATUS.RESOURCE_EXHAUSTED, http: 503, nats: 503 },
  // The caller may not do this (a live feed connection from a page of another origin).
  PERMISSION_DENIED: { grpc: GRPC_STATUS.PERMISSION_DENIED, http: 403, nats: 403 },
  // One client sent more than its share (the HTTP edge's per-IP limit, ADR 18).
  RATE_LIMITED: { grpc: GRPC_STATUS.RESOURCE_EXHAUSTED, http: 429, nats: 429 },
  DEADLINE_EXCEEDED: { grpc: GRPC_STATUS.DEADLINE_EXCEEDED, http: 504, nats: 504 },
  CANCELLED: { grpc: GRPC_STATUS.CANCELLED, http: 499, nats: 499 },
  INTERNAL: { grpc: GRPC_STATUS.INTERNAL, http: 500, nats: 500 },
};

export function httpStatusOf(code: ErrorCode): number {
  return ERROR_TABLE[code].http;
}

export function grpcStatusOf(code: ErrorCode): number {
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
export function codeOfGrpcStatus(status: number): ErrorCode {
  switch (status) {
    case GRPC_STATUS.INVALID_ARGUMENT:
    case GRPC_STATUS.OUT_OF_RANGE:
      return 'INVALID_ARGUMENT';
    case GRPC_STATUS.NOT_FOUND:
      return 'NOT_FOUND';
    case GRPC_STATUS.ALREADY_EXISTS:
      return 'ALREADY_EXISTS';
    case GRPC_STATUS.UNAVAILABLE:
      return 'UNAVAILABLE';
    case GRPC_STATUS.DEADLINE_EXCEEDED:
      return 'DEADLINE_EXCEEDED';
    case GRPC_STATUS.CANCELLED:
      return 'CANCELLED';
    default:
      return 'INTERNAL';
  }
}
