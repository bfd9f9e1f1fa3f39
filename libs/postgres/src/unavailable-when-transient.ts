import { AppError } from '@switchboard/errors';
import { isTransientDatabaseError } from './transient-errors.js';

/**
 * A transient database failure (the server down or restarting, a pool wait or a statement
 * that timed out under load, a serialization failure) is not the request's fault and not a
 * bug: it becomes UNAVAILABLE, which the edges answer 503 with Retry-After (gRPC and NATS:
 * UNAVAILABLE) and which callers may retry. Left as it is, it would be INTERNAL, a 500.
 * Any other error is returned unchanged.
 */
export function unavailableIfTransient(error: unknown): unknown {
  if (error instanceof AppError || !isTransientDatabaseError(error)) return error;
  return new AppError('UNAVAILABLE', 'the database is unavailable, try again later', {
    cause: error,
  });
}

/**
 * The same store (an adapter whose methods all return promises), each method reporting a
 * transient database failure as UNAVAILABLE. Applied once where a service builds its store,
 * so no query of it can answer a 500 for a database that is only busy.
 */
export function reportingTransientAsUnavailable<Store extends object>(store: Store): Store {
  const wrapped: Record<string, unknown> = {};
  for (const [name, member] of Object.entries(store) as [string, unknown][]) {
    if (typeof member !== 'function') {
      wrapped[name] = member;
      continue;
    }
    const method = member as (...args: unknown[]) => Promise<unknown>;
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await method.apply(store, args);
      } catch (error) {
        throw unavailableIfTransient(error);
      }
    };
  }
  return wrapped as Store;
}
