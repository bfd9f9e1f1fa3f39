import { isAppError } from '@switchboard/errors';

/** A call waiting in a batch, with its caller's cancellation. */
export interface InBatch<Request> {
  request: Request;
  signal?: AbortSignal;
}

/** What one call of a batch came to: each caller gets its own answer or its own error. */
export type Outcome<Result> = { ok: true; value: Result } | { ok: false; error: unknown };

/**
 * How concurrent calls of a use case share transactions (group commit, ADR 28): given the
 * use case that runs a batch in one transaction, it returns the function each call goes
 * through. Calls with the same key never share a batch. app.ts wires group commit
 * (@switchboard/postgres); `oneAtATime` gives every call a batch of its own.
 */
export type GroupInBatches = <Request, Result>(
  useCase: 'reserve' | 'commit',
  runTogether: (batch: InBatch<Request>[]) => Promise<Outcome<Result>[]>,
  keyOf: (request: Request) => string,
) => (request: Request, signal?: AbortSignal) => Promise<Result>;

export const oneAtATime: GroupInBatches = (_useCase, runTogether) => async (request, signal) => {
  signal?.throwIfAborted();
  const [outcome] = await runTogether([{ request, signal }]);
  if (!outcome) throw new Error('a call of a batch got no outcome');
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
};

/**
 * A call refused on its own merits (an AppError: a short SKU, an unknown order) fails alone;
 * anything else thrown is a bug, and fails the whole batch.
 */
export function refusalOrThrow(error: unknown): Outcome<never> {
  if (isAppError(error)) return { ok: false, error };
  throw error;
}
