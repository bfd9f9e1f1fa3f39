import { invalidArgument, type FieldProblem } from './inventory-errors.js';
import type { Item, ReserveCommand } from './types.js';

export const MAX_QUANTITY = 1000;
export const MIN_TTL_SECONDS = 1;
export const MAX_TTL_SECONDS = 3600;

/** Checks a Reserve request and reports every problem at once, so one retry can fix them all. */
export function validateReserve(command: ReserveCommand): ReserveCommand {
  const problems: FieldProblem[] = [];
  if (command.orderId.trim() === '')
    problems.push({ field: 'order_id', message: 'must not be empty' });
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

function itemProblems(items: Item[]): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const firstIndexOf = new Map<string, number>();
  items.forEach(({ sku, quantity }, index) => {
    if (sku.trim() === '') {
      problems.push({ field: `items[${index}].sku`, message: 'must not be empty' });
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

export function requireNonEmpty(what: string, field: string, value: string): string {
  if (value.trim() === '') throw invalidArgument(what, [{ field, message: 'must not be empty' }]);
  return value;
}
