import { AppError } from '@switchboard/errors';
import type { FastifyInstance } from 'fastify';
import type { PurchaseRequest } from '../../domain/order.js';
import type { PurchaseService } from '../../domain/purchase-service.js';
import { sendError } from './error-replies.js';
import { requestDeadline } from './request-deadline.js';
import { orderSchema, responsesOf } from './response-schemas.js';
import { idempotencyHeadersSchema, orderIdParamsSchema, purchaseBodySchema } from './schemas.js';

export function registerPurchaseRoutes(
  app: FastifyInstance,
  deps: { purchases: PurchaseService; requestTimeoutMs: number },
): void {
  app.post<{ Body: PurchaseRequest; Headers: { 'idempotency-key': string } }>(
    '/v1/purchases',
    {
      schema: {
        summary: 'Buys the items: reserves their stock and stores the order',
        description:
          'All items or none. The same Idempotency-Key and body again replays the stored ' +
          'answer (header Idempotent-Replayed: true).',
        tags: ['purchases'],
        body: purchaseBodySchema,
        headers: idempotencyHeadersSchema,
        response: responsesOf(
          {
            201: {
              description: 'The order, stored; Location is its URL.',
              headers: { location: { type: 'string' } },
              ...orderSchema,
            },
          },
          [409, 413, 415, 422],
        ),
      },
    },
    async (request, reply) => {
      const { outcome, replayed } = await deps.purchases.purchase(
        request.headers['idempotency-key'],
        request.body,
        requestDeadline(request, reply, deps.requestTimeoutMs),
      );
      if (replayed) reply.header('idempotent-replayed', 'true');
      if (!outcome.ok) {
        const { code, message, details } = outcome.error;
        return sendError(reply, new AppError(code, message, { details }));
      }
      return reply
        .code(201)
        .header('location', `/v1/purchases/${outcome.order.orderId}`)
        .send(outcome.order);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/purchases/:id',
    {
      schema: {
        summary: 'Reads an order',
        tags: ['purchases'],
        params: orderIdParamsSchema,
        response: responsesOf({ 200: { description: 'The order.', ...orderSchema } }, [404, 414]),
      },
    },
    async (request) => {
      const order = await deps.purchases.findOrder(request.params.id);
      if (!order) throw new AppError('NOT_FOUND', `no purchase ${request.params.id}`);
      return order;
    },
  );
}
