import { AppError } from '@switchboard/errors';

/** One problem with one field of a request, named as in the .proto (order_id, items[1].sku). */
export interface FieldProblem {
  field: string;
  message: string;
}

export function invalidArgument(what: string, problems: FieldProblem[]): AppError {
  const summary = problems.map(({ field, message }) => `${field} ${message}`).join('; ');
  return new AppError('INVALID_ARGUMENT', `invalid ${what}: ${summary}`, { details: { problems } });
}

export function unknownSkus(skus: string[]): AppError {
  return new AppError('NOT_FOUND', `unknown SKU: ${skus.join(', ')}`, { details: { skus } });
}

export function insufficientStock(skus: string[]): AppError {
  return new AppError('INSUFFICIENT_STOCK', `not enough stock for ${skus.join(', ')}`, {
    details: { skus },
  });
}

export function reservationNotFound(orderId: string): AppError {
  return new AppError('NOT_FOUND', `no reservation for order ${orderId}`, { details: { orderId } });
}

export function reservationConflict(orderId: string): AppError {
  return new AppError(
    'ALREADY_EXISTS',
    `order ${orderId} already has a reservation with different items`,
    { details: { orderId } },
  );
}

/**
 * A committed reservation's stock has left the shelf and cannot be given back. The closed set
 * has no FAILED_PRECONDITION-like code of its own, so this is ALREADY_EXISTS (gRPC
 * ALREADY_EXISTS, HTTP 409): the order's reservation already exists in a state that conflicts
 * with the request, as with a repeated Reserve with other items. details.state says which.
 */
export function reservationAlreadyCommitted(orderId: string): AppError {
  return new AppError(
    'ALREADY_EXISTS',
    `the reservation of order ${orderId} is committed and can no longer be released`,
    { details: { orderId, state: 'COMMITTED' } },
  );
}

export function stockNotFound(sku: string): AppError {
  return new AppError('NOT_FOUND', `unknown SKU: ${sku}`, { details: { skus: [sku] } });
}
