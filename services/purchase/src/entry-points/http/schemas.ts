import { PLAIN_TEXT_FORMAT } from '@switchboard/text';

/**
 * JSON schemas of the public API; Fastify validates every request against them (allErrors).
 * Every identifier is plain text (@switchboard/text): what Postgres, gRPC and NATS all keep
 * exactly, so a value the store cannot keep is a 400 naming its field, never a 500.
 */
/**
 * 1 to 500. Query parameters are strings and types are not coerced (see http-server.ts), so
 * the range is a pattern; the route turns it into a number.
 */
const PAGE_SIZE_PATTERN = '^(?:[1-9][0-9]?|[1-4][0-9]{2}|500)$';

/** What a value that fails a pattern is told, by pattern (Ajv's own message shows the regex). */
export const PATTERN_MESSAGES: Record<string, string> = {
  [PAGE_SIZE_PATTERN]: 'must be a whole number from 1 to 500',
};

const sku = { type: 'string', minLength: 1, maxLength: 64, format: PLAIN_TEXT_FORMAT } as const;

export const purchaseBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['customerId', 'items'],
  properties: {
    customerId: { type: 'string', minLength: 1, maxLength: 100, format: PLAIN_TEXT_FORMAT },
    items: {
      type: 'array',
      minItems: 1,
      maxItems: 50,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['sku', 'quantity'],
        properties: {
          sku,
          quantity: { type: 'integer', minimum: 1, maximum: 1000 },
        },
      },
    },
  },
} as const;

export const idempotencyHeadersSchema = {
  type: 'object',
  required: ['idempotency-key'],
  properties: {
    'idempotency-key': { type: 'string', minLength: 1, maxLength: 200, format: PLAIN_TEXT_FORMAT },
  },
} as const;

export const orderIdParamsSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', format: 'uuid' } },
} as const;

export const skuParamsSchema = {
  type: 'object',
  required: ['sku'],
  properties: { sku },
} as const;

export const stockQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    pageSize: { type: 'string', pattern: PAGE_SIZE_PATTERN, default: '100' },
    pageToken: { type: 'string', maxLength: 200, default: '', format: PLAIN_TEXT_FORMAT },
  },
} as const;
