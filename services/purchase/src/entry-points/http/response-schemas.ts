import type { ErrorCode } from '@switchboard/errors';

/**
 * JSON schemas of the public API's answers, for every status a route can answer. Fastify
 * serializes each answer with the schema of its status (fast-json-stringify), and
 * @fastify/swagger puts them in the OpenAPI document at /docs (api-docs.ts). A field a schema
 * does not name is dropped from the answer, so the open parts (an error's `details`) say
 * `additionalProperties: true`; the conformance test (test/openapi.component.test.ts) checks
 * that every answer matches its schema.
 */

const orderLine = {
  type: 'object',
  additionalProperties: false,
  required: ['sku', 'quantity'],
  properties: { sku: { type: 'string' }, quantity: { type: 'integer' } },
} as const;

export const orderSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['orderId', 'customerId', 'status', 'items', 'createdAt'],
  properties: {
    orderId: { type: 'string', format: 'uuid' },
    customerId: { type: 'string' },
    status: { type: 'string', enum: ['CONFIRMED'] },
    // In the order they were sent.
    items: { type: 'array', items: orderLine },
    createdAt: { type: 'string', format: 'date-time' },
  },
} as const;

export const stockSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['sku', 'name', 'onHand', 'reserved', 'available'],
  properties: {
    sku: { type: 'string' },
    name: { type: 'string' },
    onHand: { type: 'integer', minimum: 0 },
    reserved: { type: 'integer', minimum: 0 },
    available: { type: 'integer', minimum: 0 },
  },
} as const;

export const stockPageSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['stock'],
  properties: {
    stock: { type: 'array', items: stockSchema },
    nextPageToken: {
      type: 'string',
      description: 'Present when there are more: pass it as pageToken for the next page.',
    },
  },
} as const;

/** `{ error: { code, message, details? } }`, the one error shape (error-replies.ts). */
function errorBody(codes: readonly ErrorCode[]) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        additionalProperties: false,
        required: ['code', 'message'],
        properties: {
          code: { type: 'string', enum: codes },
          message: { type: 'string' },
          details: {
            type: 'object',
            // Open: a code may carry details of its own, and none may be dropped on the way.
            additionalProperties: true,
            properties: {
              problems: {
                description: 'Every problem of the request (400), each naming its field.',
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['field', 'message'],
                  properties: { field: { type: 'string' }, message: { type: 'string' } },
                },
              },
              skus: {
                description: 'The SKUs short of stock (409) or unknown (400, 404).',
                type: 'array',
                items: { type: 'string' },
              },
            },
          },
        },
      },
    },
  } as const;
}

const retryAfter = {
  description: 'Seconds to wait before asking again.',
  type: 'string',
  pattern: '^[0-9]+$',
} as const;

/** Every error status the public API can answer, with the codes it carries (ADR 3). */
const ERROR_RESPONSES = {
  400: {
    description:
      'The request is invalid: validation (details.problems lists every problem), malformed ' +
      'JSON, an unknown SKU, a URL that is not UTF-8, or a request the HTTP parser refuses.',
    ...errorBody(['INVALID_ARGUMENT']),
  },
  404: { description: 'No such resource.', ...errorBody(['NOT_FOUND']) },
  408: {
    description: 'The request was not received within HTTP_REQUEST_TIMEOUT_MS (ADR 18).',
    ...errorBody(['INVALID_ARGUMENT']),
  },
  409: {
    description:
      'Not enough stock for one or more items, nothing reserved (INSUFFICIENT_STOCK, ' +
      'details.skus); or the Idempotency-Key is still in use by another request ' +
      '(IDEMPOTENCY_KEY_IN_USE, with Retry-After).',
    headers: { 'retry-after': retryAfter },
    ...errorBody(['INSUFFICIENT_STOCK', 'IDEMPOTENCY_KEY_IN_USE']),
  },
  413: { description: 'The body is over 64 KiB.', ...errorBody(['INVALID_ARGUMENT']) },
  414: {
    description: 'A path parameter is over 100 characters.',
    ...errorBody(['INVALID_ARGUMENT']),
  },
  415: { description: 'The body is not application/json.', ...errorBody(['INVALID_ARGUMENT']) },
  422: {
    description: 'The Idempotency-Key was used before with another body.',
    ...errorBody(['IDEMPOTENCY_KEY_REUSED']),
  },
  429: {
    description:
      'This client IP sent more than HTTP_RATE_LIMIT_MAX requests in the window (ADR 18).',
    headers: {
      'retry-after': { ...retryAfter, required: true },
      'ratelimit-limit': { type: 'string' },
      'ratelimit-remaining': { type: 'string' },
      'ratelimit-reset': { type: 'string' },
    },
    ...errorBody(['RATE_LIMITED']),
  },
  431: { description: 'The request headers are too large.', ...errorBody(['INVALID_ARGUMENT']) },
  500: { description: 'A bug: never expected.', ...errorBody(['INTERNAL']) },
  503: {
    description:
      'purchase or inventory is at capacity (OVERLOADED, ADR 11), or inventory is ' +
      'unreachable (UNAVAILABLE); come back after Retry-After.',
    headers: { 'retry-after': { ...retryAfter, required: true } },
    ...errorBody(['OVERLOADED', 'UNAVAILABLE']),
  },
  504: {
    description: 'inventory did not answer within the request deadline (REQUEST_TIMEOUT_MS).',
    ...errorBody(['DEADLINE_EXCEEDED']),
  },
} as const;

type ErrorStatus = keyof typeof ERROR_RESPONSES;

/**
 * What any API route can answer, whatever it does: the HTTP parser's refusals (400, 408,
 * 431), the per-client limit (429), admission control (503), a deadline (504), a bug (500).
 */
const ANY_ROUTE: readonly ErrorStatus[] = [400, 408, 429, 431, 500, 503, 504];

/** A route's `response` schemas: its successes and its errors beyond those of any route. */
export function responsesOf(
  successes: Record<number, object>,
  errors: readonly ErrorStatus[],
): Record<number, object> {
  const responses: Record<number, object> = { ...successes };
  for (const status of [...ANY_ROUTE, ...errors].sort((a, b) => a - b))
    responses[status] = ERROR_RESPONSES[status];
  return responses;
}
