import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseProducts } from '../../src/domain/product-catalog.js';

describe('parseProducts', () => {
  it('reads the shipped seed file: the five products the end-to-end tests rely on', async () => {
    const text = await readFile(new URL('../../seed/products.json', import.meta.url), 'utf8');

    expect(parseProducts(JSON.parse(text))).toEqual([
      { sku: 'sku-red-mug', name: 'Red mug', onHand: 100 },
      { sku: 'sku-blue-mug', name: 'Blue mug', onHand: 100 },
      { sku: 'sku-tote-bag', name: 'Tote bag', onHand: 200 },
      { sku: 'sku-sticker-pack', name: 'Sticker pack', onHand: 1000 },
      { sku: 'sku-limited-poster', name: 'Limited edition poster', onHand: 50 },
    ]);
  });

  it('names every bad entry by index and SKU', () => {
    expect(() =>
      parseProducts([
        { sku: 'ok', name: 'Ok', onHand: 0 },
        'not an object',
        { sku: 'x', name: 3, onHand: '5' },
        { sku: 'ok', name: 'Again', onHand: 1 },
      ]),
    ).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        details: {
          problems: [
            { field: '[1]', message: 'must be an object { "sku", "name", "onHand" }' },
            { field: '[2] (x).name', message: 'must be a non-empty string' },
            { field: '[2] (x).onHand', message: 'must be a whole number of at least 0' },
            { field: '[3] (ok).sku', message: 'appears more than once' },
          ],
        },
      }),
    );
  });

  it('takes only SKUs that can be one NATS subject token: 1 to 64 of A-Z a-z 0-9 _ -', () => {
    const ok = ['A', 'sku-red-mug', 'SKU_42', 'x'.repeat(64)];
    const bad = ['bad.sku', '*', '>', 'two words', 'sku\t', 'é', 'x'.repeat(65)];

    expect(parseProducts(ok.map((sku) => ({ sku, name: 'Ok', onHand: 1 })))).toHaveLength(4);
    expect(() => parseProducts(bad.map((sku) => ({ sku, name: 'Bad', onHand: 1 })))).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        details: {
          problems: bad.map((sku, index) => ({
            field: `[${index}] (${sku}).sku`,
            message: 'must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -',
          })),
        },
      }),
    );
  });

  it('wants an array', () => {
    expect(() => parseProducts({ sku: 'a' })).toThrow('must be a JSON array');
  });
});
