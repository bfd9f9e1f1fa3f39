import type { FastifyInstance } from 'fastify';
import type { InventoryClient } from '../../domain/inventory-client.js';
import { requestDeadline } from './request-deadline.js';
import { responsesOf, stockPageSchema, stockSchema } from './response-schemas.js';
import { skuParamsSchema, stockQuerySchema } from './schemas.js';

/** Stock is inventory's: purchase only passes the reads through, with the request's deadline. */
export function registerStockRoutes(
  app: FastifyInstance,
  deps: { inventory: InventoryClient; requestTimeoutMs: number },
): void {
  app.get<{ Querystring: { pageSize: string; pageToken: string } }>(
    '/v1/stock',
    {
      schema: {
        summary: 'Lists the stock of every SKU, a page at a time',
        tags: ['stock'],
        querystring: stockQuerySchema,
        response: responsesOf({ 200: { description: 'A page of stock.', ...stockPageSchema } }, []),
      },
    },
    async (request, reply) => {
      const page = await deps.inventory.listStock(
        { pageSize: Number(request.query.pageSize), pageToken: request.query.pageToken },
        requestDeadline(request, reply, deps.requestTimeoutMs),
      );
      return page.nextPageToken ? page : { stock: page.stock };
    },
  );

  app.get<{ Params: { sku: string } }>(
    '/v1/stock/:sku',
    {
      schema: {
        summary: "Reads one SKU's stock",
        tags: ['stock'],
        params: skuParamsSchema,
        response: responsesOf({ 200: { description: 'Its stock.', ...stockSchema } }, [404, 414]),
      },
    },
    async (request, reply) =>
      deps.inventory.getStock(
        request.params.sku,
        requestDeadline(request, reply, deps.requestTimeoutMs),
      ),
  );
}
