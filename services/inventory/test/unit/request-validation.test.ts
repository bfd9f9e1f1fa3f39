import { AppError } from '@switchboard/errors';
import { describe, expect, it } from 'vitest';
import { PLAIN_TEXT_RULE } from '@switchboard/text';
import { requireIdentifier, validateReserve } from '../../src/domain/request-validation.js';

function problemsOf(run: () => unknown): { field: string; message: string }[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    return (error as AppError).details?.problems as { field: string; message: string }[];
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('validateReserve', () => {
  it('accepts a well-formed order', () => {
    const command = {
      orderId: 'o-1',
      items: [
        { sku: 'a', quantity: 1000 },
        { sku: 'b', quantity: 1 },
      ],
      ttlSeconds: 3600,
    };

    expect(validateReserve(command)).toBe(command);
  });

  it('lists every problem of the request at once', () => {
    const problems = problemsOf(() =>
      validateReserve({
        orderId: ' ',
        items: [
          { sku: 'a', quantity: 1.5 },
          { sku: 'a', quantity: -1 },
          { sku: '', quantity: 1001 },
        ],
        ttlSeconds: 0,
      }),
    );

    expect(problems).toEqual([
      { field: 'order_id', message: 'must not be empty' },
      { field: 'items[0].quantity', message: 'must be a whole number from 1 to 1000' },
      { field: 'items[1].sku', message: 'repeats items[0].sku a' },
      { field: 'items[1].quantity', message: 'must be a whole number from 1 to 1000' },
      { field: 'items[2].sku', message: 'must not be empty' },
      { field: 'items[2].quantity', message: 'must be a whole number from 1 to 1000' },
      { field: 'ttl_seconds', message: 'must be a whole number from 1 to 3600' },
    ]);
  });

  it('names an order without items and a TTL over an hour', () => {
    const problems = problemsOf(() =>
      validateReserve({ orderId: 'o-1', items: [], ttlSeconds: 3601 }),
    );

    expect(problems.map(({ field }) => field)).toEqual(['items', 'ttl_seconds']);
  });

  it('says what is wrong in the message too, for logs and people', () => {
    expect(() =>
      validateReserve({ orderId: '', items: [{ sku: 'a', quantity: 1 }], ttlSeconds: 60 }),
    ).toThrow('invalid Reserve request: order_id must not be empty');
  });

  it('refuses ids Postgres cannot keep: NUL, control characters, unpaired surrogates, over-long order ids', () => {
    // A NUL reached Postgres and failed there ("invalid byte sequence"): INTERNAL, not the
    // caller's INVALID_ARGUMENT; an order id past ~2,700 bytes cannot be indexed.
    const problems = problemsOf(() =>
      validateReserve({
        orderId: 'o'.repeat(201),
        items: [
          { sku: 'nul\u0000', quantity: 1 },
          { sku: 'bell\u0007', quantity: 1 },
          { sku: 'half\ud800', quantity: 1 },
          { sku: 'sku-fine-é-😀', quantity: 1 },
        ],
        ttlSeconds: 60,
      }),
    );

    expect(problems).toEqual([
      { field: 'order_id', message: 'must be at most 200 characters' },
      { field: 'items[0].sku', message: PLAIN_TEXT_RULE },
      { field: 'items[1].sku', message: PLAIN_TEXT_RULE },
      { field: 'items[2].sku', message: PLAIN_TEXT_RULE },
    ]);
  });
});

describe('requireIdentifier', () => {
  it('refuses a NUL in an order id or SKU with INVALID_ARGUMENT naming the field', () => {
    expect(problemsOf(() => requireIdentifier('GetStock request', 'sku', 'a\u0000b'))).toEqual([
      { field: 'sku', message: PLAIN_TEXT_RULE },
    ]);
  });
});
