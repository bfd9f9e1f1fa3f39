/** JSON schemas of the public API; Fastify validates every request against them (allErrors). */
const sku = { type: 'string', minLength: 1, maxLength: 64 } as const;

export const purchaseBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['customerId', 'items'],
  properties: {
    customerId: { type: 'string', minLength: 1, maxLength: 100 },
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
    'idempotency-key': { type: 'string', minLength: 1, maxLength: 200 },
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
    pageSize: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
    pageToken: { type: 'string', maxLength: 200, default: '' },
  },
} as const;
