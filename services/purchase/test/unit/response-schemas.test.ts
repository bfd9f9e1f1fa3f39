import { AppError } from '@switchboard/errors';
import Fastify, { type FastifyReply } from 'fastify';
import { describe, expect, it } from 'vitest';
import { sendError } from '../../src/entry-points/http/error-replies.js';
import {
  orderSchema,
  responsesOf,
  stockPageSchema,
} from '../../src/entry-points/http/response-schemas.js';

// Fastify serializes an answer with its status's schema (fast-json-stringify), which leaves
// out any field the schema does not name: these check that nothing a route sends is lost.

/** A Fastify app with one route, declaring `responses`, that answers with `answer`. */
async function answerOf(
  responses: Record<number, object>,
  answer: (reply: FastifyReply) => unknown,
) {
  const app = Fastify();
  app.get('/', { schema: { response: responses } }, (_request, reply) => answer(reply));
  const reply = await app.inject('/');
  await app.close();
  return reply;
}

describe('the response schemas', () => {
  it("keep every field of an error's details, the ones they name and any other", async () => {
    const details = {
      problems: [{ field: '/items/0/sku', message: 'unknown SKU sku-x' }],
      skus: ['sku-x', 'sku-é'],
      orderId: 'order-1',
      state: 'COMMITTED',
      nested: { list: [1, null, 'text'], flag: false },
    };
    const reply = await answerOf(responsesOf({ 200: orderSchema }, [409]), (raw) =>
      sendError(raw, new AppError('INSUFFICIENT_STOCK', 'not enough stock', { details })),
    );
    expect(reply.statusCode).toBe(409);
    expect(reply.json()).toEqual({
      error: { code: 'INSUFFICIENT_STOCK', message: 'not enough stock', details },
    });
  });

  it('keep an order and a page of stock as the route sends them', async () => {
    const order = {
      orderId: '5f0c7c5e-8f0e-4f7a-9d38-0d6f5b0e8c11',
      customerId: 'customer-é-😀',
      status: 'CONFIRMED',
      items: [
        { sku: 'sku-b', quantity: 2 },
        { sku: 'sku-a', quantity: 1 },
      ],
      createdAt: '2026-12-02T02:40:00.000Z',
    };
    const created = await answerOf(responsesOf({ 200: orderSchema }, []), () => order);
    expect(created.body).toBe(JSON.stringify(order));

    const page = {
      stock: [{ sku: 'sku-a', name: 'A', onHand: 5, reserved: 1, available: 4 }],
      nextPageToken: 'next',
    };
    const listed = await answerOf(responsesOf({ 200: stockPageSchema }, []), () => page);
    expect(listed.body).toBe(JSON.stringify(page));
  });
});
