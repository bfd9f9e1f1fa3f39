import { describe, expect, it } from 'vitest';
import {
  AppError,
  ERROR_CODES,
  ERROR_TABLE,
  GRPC_STATUS,
  codeOfGrpcStatus,
  codeOfNatsServiceError,
  grpcStatusOf,
  httpStatusOf,
  natsServiceErrorOf,
  toAppError,
} from '../src/index.js';

describe('the error table', () => {
  it('maps every code to a gRPC status and an HTTP status', () => {
    for (const code of ERROR_CODES) {
      expect(ERROR_TABLE[code].http).toBeGreaterThanOrEqual(400);
      expect(Object.values(GRPC_STATUS)).toContain(ERROR_TABLE[code].grpc);
    }
  });

  it('answers short stock with 409 and FAILED_PRECONDITION, a reused key with 422', () => {
    expect(httpStatusOf('INSUFFICIENT_STOCK')).toBe(409);
    expect(grpcStatusOf('INSUFFICIENT_STOCK')).toBe(GRPC_STATUS.FAILED_PRECONDITION);
    expect(httpStatusOf('IDEMPOTENCY_KEY_REUSED')).toBe(422);
    expect(httpStatusOf('UNAVAILABLE')).toBe(503);
  });

  it('reads back the code of every status whose code is unambiguous', () => {
    for (const code of [
      'INVALID_ARGUMENT',
      'NOT_FOUND',
      'UNAVAILABLE',
      'DEADLINE_EXCEEDED',
    ] as const) {
      expect(codeOfGrpcStatus(grpcStatusOf(code))).toBe(code);
    }
    expect(codeOfGrpcStatus(GRPC_STATUS.UNKNOWN)).toBe('INTERNAL');
  });
});

describe('toAppError', () => {
  it('keeps an AppError as it is', () => {
    const error = new AppError('NOT_FOUND', 'no such sku', { details: { sku: 'x' } });
    expect(toAppError(error)).toBe(error);
  });

  it('turns an unknown throw into INTERNAL and keeps it as the cause', () => {
    const thrown = new TypeError('boom');
    const error = toAppError(thrown);
    expect(error.code).toBe('INTERNAL');
    expect(error.cause).toBe(thrown);
  });
});

describe('the NATS column of the table', () => {
  it('sends the HTTP status as the NATS service error code, by the common convention', () => {
    for (const code of ERROR_CODES) expect(natsServiceErrorOf(code)).toBe(httpStatusOf(code));
  });

  it('maps back only numbers that name one code, and everything else to INTERNAL', () => {
    expect(codeOfNatsServiceError(404)).toBe('NOT_FOUND');
    expect(codeOfNatsServiceError(504)).toBe('DEADLINE_EXCEEDED');
    // 409 is short stock, a conflicting reservation or a key in use: ambiguous without the header.
    expect(codeOfNatsServiceError(409)).toBe('INTERNAL');
    expect(codeOfNatsServiceError(418)).toBe('INTERNAL');
  });
});
