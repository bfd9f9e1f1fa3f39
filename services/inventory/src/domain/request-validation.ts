import type { OrderLine } from '@switchboard/contracts';
import { PLAIN_TEXT_RULE, isPlainText } from '@switchboard/text';
import { invalidArgument, type FieldProblem } from './inventory-errors.js';
import type { ReserveCommand } from './types.js';

export const MAX_QUANTITY = 1000;
/**
 * An order id is a key of the reservations table; Postgres cannot index a key of more than
 * about 2,700 bytes, so a longer one would fail in the database (INTERNAL) instead of here.
 * purchase sends UUIDs; 200 characters is room for any other caller's ids.
 */
export const MAX_ORDER_ID_LENGTH = 200;
export const MIN_TTL_SECONDS = 1;
export const MAX_TTL_SECONDS = 3600;

/** Checks a Reserve request and reports every problem at once, so one retry can fix them all. */
export function validateReserve(command: ReserveCommand): ReserveCommand {
  const problems: FieldProblem[] = [];
  problems.push(...identifierProblems('order_id', command.orderId, MAX_ORDER_ID_LENGTH));
  if (command.items.length === 0)
    problems.push({ field: 'items', message: 'must hold at least one item' });
  problems.push(...itemProblems(command.items));
  const ttl = command.ttlSeconds;
  if (!Number.isInteger(ttl) || ttl < MIN_TTL_SECONDS || ttl > MAX_TTL_SECONDS) {
    problems.push({
      field: 'ttl_seconds',
      message: `must be a whole number from ${MIN_TTL_SECONDS} to ${MAX_TTL_SECONDS}`,
    });
  }
  if (problems.length > 0) throw invalidArgument('Reserve request', problems);
  return command;
}

function itemProblems(items: OrderLine[]): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const firstIndexOf = new Map<string, number>();
  items.forEach(({ sku, quantity }, index) => {
    const skuProblems = identifierProblems(`items[${index}].sku`, sku);
    if (skuProblems.length > 0) {
      problems.push(...skuProblems);
    } else {
      const first = firstIndexOf.get(sku);
      if (first === undefined) firstIndexOf.set(sku, index);
      else
        problems.push({
          field: `items[${index}].sku`,
          message: `repeats items[${first}].sku ${sku}`,
        });
    }
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_QUANTITY) {
      problems.push({
        field: `items[${index}].quantity`,
        message: `must be a whole number from 1 to ${MAX_QUANTITY}`,
      });
    }
  });
  return problems;
}

/**
 * An identifier (order id, SKU) must be non-empty plain text (@switchboard/text): a NUL
 * would fail in Postgres as INTERNAL, and an unknown SKU with control characters is an
 * error in the request, not a missing product.
 */
export function requireIdentifier(
  what: string,
  field: string,
  value: string,
  maxLength = Infinity,
): string {
  const problems = identifierProblems(field, value, maxLength);
  if (problems.length > 0) throw invalidArgument(what, problems);
  return value;
}

function identifierProblems(field: string, value: string, maxLength = Infinity): FieldProblem[] {
  if (value.trim() === '') return [{ field, message: 'must not be empty' }];
  if (!isPlainText(value)) return [{ field, message: PLAIN_TEXT_RULE }];
  if (value.length > maxLength)
    return [{ field, message: `must be at most ${maxLength} characters` }];
  return [];
}
