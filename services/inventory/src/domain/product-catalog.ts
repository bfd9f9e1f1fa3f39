import { invalidArgument, type FieldProblem } from './inventory-errors.js';
import type { Product } from './types.js';

/**
 * What a SKU may be: 1 to 64 of `A-Z a-z 0-9 _ -`. A SKU is one token of the subject its
 * StockChanged events are published on (`inventory.events.stock.changed.<sku>`), so it must
 * never hold a `.`, a wildcard (`*`, `>`) or white space; this rule is narrower than that.
 */
export const SKU_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Checks a list of products to seed, as read from JSON: an array of { sku, name, onHand }.
 * Every bad entry is reported at once, named by its index and, where it has one, its SKU.
 */
export function parseProducts(value: unknown): Product[] {
  if (!Array.isArray(value)) {
    throw invalidArgument('product list', [
      { field: '(root)', message: 'must be a JSON array of { "sku", "name", "onHand" }' },
    ]);
  }
  const problems: FieldProblem[] = [];
  const products: Product[] = [];
  const seen = new Set<string>();
  value.forEach((entry: unknown, index) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push({
        field: `[${index}]`,
        message: 'must be an object { "sku", "name", "onHand" }',
      });
      return;
    }
    const { sku, name, onHand } = entry as Record<string, unknown>;
    const label =
      typeof sku === 'string' && sku.trim() !== '' ? `[${index}] (${sku})` : `[${index}]`;
    const before = problems.length;
    if (typeof sku !== 'string' || sku.trim() === '') {
      problems.push({ field: `${label}.sku`, message: 'must be a non-empty string' });
    } else if (!SKU_PATTERN.test(sku)) {
      problems.push({
        field: `${label}.sku`,
        message: 'must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -',
      });
    } else if (seen.has(sku)) {
      problems.push({ field: `${label}.sku`, message: 'appears more than once' });
    } else {
      seen.add(sku);
    }
    if (typeof name !== 'string' || name.trim() === '') {
      problems.push({ field: `${label}.name`, message: 'must be a non-empty string' });
    }
    if (
      typeof onHand !== 'number' ||
      !Number.isInteger(onHand) ||
      onHand < 0 ||
      onHand > 2_147_483_647
    ) {
      problems.push({ field: `${label}.onHand`, message: 'must be a whole number of at least 0' });
    }
    const valid = problems.length === before;
    if (
      valid &&
      typeof sku === 'string' &&
      typeof name === 'string' &&
      typeof onHand === 'number'
    ) {
      products.push({ sku, name, onHand });
    }
  });
  if (problems.length > 0) throw invalidArgument('product list', problems);
  return products;
}
