import { AppError, httpStatusOf, toAppError, type ErrorCode } from '@switchboard/errors';
import type { Duplex } from 'node:stream';
import { PLAIN_TEXT_FORMAT, PLAIN_TEXT_RULE } from '@switchboard/text';
import { PATTERN_MESSAGES } from './schemas.js';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

/**
 * How long a client told to come back later is asked to wait, in seconds (Retry-After), unless
 * the caller says otherwise: admission refusals say more as the crowd grows (admission.ts).
 */
export const RETRY_AFTER_SECONDS = 1;

/** Sends an AppError with the status of the one error table. */
export function sendError(
  reply: FastifyReply,
  error: AppError,
  retryAfterSeconds = RETRY_AFTER_SECONDS,
): FastifyReply {
  const body: ErrorBody = { error: { code: error.code, message: error.message } };
  if (error.details) body.error.details = error.details;
  // Tell well-behaved clients when to come back instead of letting them hammer us.
  if (
    error.code === 'UNAVAILABLE' ||
    error.code === 'OVERLOADED' ||
    error.code === 'IDEMPOTENCY_KEY_IN_USE'
  )
    reply.header('retry-after', String(retryAfterSeconds));
  return reply.code(httpStatusOf(error.code)).send(body);
}

/**
 * Fastify's own errors (schema validation, malformed JSON, body too large) and everything
 * thrown by handlers end here and leave in the same { error } shape.
 */
export function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error.validation) {
    const problems = error.validation.map((issue) => ({
      field: fieldOf(error.validationContext, issue.instancePath, issue.params),
      message: messageOf(issue),
    }));
    return sendError(
      reply,
      new AppError('INVALID_ARGUMENT', describe(problems), { details: { problems } }),
    );
  }
  if (
    error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
    error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
    error instanceof SyntaxError
  ) {
    const problems = [{ field: 'body', message: 'is not valid JSON' }];
    return sendError(
      reply,
      new AppError('INVALID_ARGUMENT', 'the body is not valid JSON', { details: { problems } }),
    );
  }
  if (
    !(error instanceof AppError) &&
    error.statusCode &&
    error.statusCode >= 400 &&
    error.statusCode < 500
  ) {
    // Other client errors Fastify detects itself: 413 body too large, 415 wrong media type.
    return reply
      .code(error.statusCode)
      .send({ error: { code: 'INVALID_ARGUMENT', message: error.message } });
  }
  const appError = toAppError(error);
  if (appError.code === 'INTERNAL') request.log.error({ err: error }, 'unexpected error');
  return sendError(reply, appError);
}

/** Ajv's message, except for plain text and patterns, whose rules say more than their names. */
function messageOf(issue: { keyword: string; params: Record<string, unknown>; message?: string }) {
  if (issue.keyword === 'format' && issue.params.format === PLAIN_TEXT_FORMAT)
    return PLAIN_TEXT_RULE;
  if (issue.keyword === 'pattern') {
    const message = PATTERN_MESSAGES[String(issue.params.pattern)];
    if (message) return message;
  }
  return issue.message ?? 'is invalid';
}

/**
 * Errors Fastify's router answers by itself, in its own shape, unless given this handler: a
 * URL whose percent-encoding is not UTF-8 (`/v1/stock/%80`), a path parameter past the
 * router's maximum length (100 characters).
 */
export function handleFrameworkError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  if (error.code === 'FST_ERR_BAD_URL') {
    const problems = [{ field: 'url', message: 'is not valid percent-encoded UTF-8' }];
    void sendError(
      reply,
      new AppError('INVALID_ARGUMENT', 'the URL is not valid percent-encoded UTF-8', {
        details: { problems },
      }),
    );
  } else if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    void reply.code(414).send({
      error: { code: 'INVALID_ARGUMENT', message: 'a path parameter is too long' },
    });
  } else void handleError(error, request, reply);
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (a malformed request line or
 * header, headers too large, a client too slow to send its request) get the same { error }
 * shape as every other 4xx, and the connection is closed: it cannot be trusted to be in step.
 */
export function handleClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', 'the request was not received in time']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'the request headers are too large']
        : [400, 'Bad Request', 'the request is not valid HTTP'];
  const body = JSON.stringify({ error: { code: 'INVALID_ARGUMENT', message } });
  // The error can come after an answer was sent on this socket (a request parsed and answered,
  // then garbage after it): a second answer would be a stray response. Node checks the same.
  const answering = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !answering?.headersSent) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

function fieldOf(
  context: string | undefined,
  instancePath: string,
  params: Record<string, unknown>,
): string {
  const missing = typeof params.missingProperty === 'string' ? `/${params.missingProperty}` : '';
  const extra =
    typeof params.additionalProperty === 'string' ? `/${params.additionalProperty}` : '';
  const path = `${instancePath}${missing}${extra}`;
  // Headers are named as such (idempotency-key), body fields as JSON pointers (/items/0/sku).
  if (context === 'headers') return path.replace(/^\//, '');
  return path || '/';
}

function describe(problems: { field: string; message: string }[]): string {
  return problems.map((problem) => `${problem.field} ${problem.message}`).join('; ');
}
