import { AppError } from '@switchboard/errors';
import type { FastifyInstance } from 'fastify';
import type { PurchaseRequest } from '../../domain/order.js';
import type { PurchaseService } from '../../domain/purchase-service.js';
import { sendError } from './error-replies.js';
import { requestDeadline } from './request-deadline.js';
import { idempotencyHeadersSchema, orderIdParamsSchema, purchaseBodySchema } from './schemas.js';

export function registerPurchaseRoutes(
  app: FastifyInstance,
  deps: { purchases: PurchaseService; requestTimeoutMs: number },
): void {
  app.post<{ Body: PurchaseRequest; Headers: { 'idempotency-key': string } }>(
    '/v1/purchases',
    { schema: { body: purchaseBodySchema, headers: idempotencyHeadersSchema } },
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
    { schema: { params: orderIdParamsSchema } },
    async (request) => {
      const order = await deps.purchases.findOrder(request.params.id);
      if (!order) throw new AppError('NOT_FOUND', `no purchase ${request.params.id}`);
      return order;
    },
  );
}
