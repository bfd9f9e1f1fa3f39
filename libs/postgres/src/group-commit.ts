import { isTransientDatabaseError } from './transient-errors.js';

/** One request in a batch, with its caller's cancellation. */
export interface Batched<Request> {
  request: Request;
  signal?: AbortSignal;
}

/** What one request of a batch came to: each caller gets its own answer or its own error. */
export type Outcome<Result> = { ok: true; value: Result } | { ok: false; error: unknown };

export interface GroupCommitOptions<Request, Result> {
  /**
   * Runs a batch in one transaction and answers every request in it, in order. It throws
   * only for what fails the whole transaction; a request refused on its own merits is an
   * outcome `{ ok: false }` and the others in its batch go on.
   */
  run(batch: Batched<Request>[]): Promise<Outcome<Result>[]>;
  /** The most requests one transaction takes. */
  maxBatch: number;
  /** How many batches may be in their transactions at once. */
  maxInFlight: number;
  /**
   * Requests with the same key never share a batch: the later one waits for the next. (Two
   * Reserves of one order in one transaction would each see the other's half-written row.)
   */
  keyOf?: (request: Request) => string;
  /** Told the size of every batch as it starts (for a metric). */
  onBatch?: (size: number) => void;
}

export interface GroupCommit<Request, Result> {
  /**
   * Runs the request in the next batch and resolves with its own outcome. A caller whose
   * signal aborts while it still waits for a batch is dropped from the queue at once.
   */
  submit(request: Request, signal?: AbortSignal): Promise<Result>;
}

interface Waiting<Request, Result> extends Batched<Request> {
  resolve(value: Result): void;
  reject(error: unknown): void;
  stopListening(): void;
}

/**
 * Group commit: the requests that arrive while the batches in flight are in their
 * transactions wait, then go together in one transaction, so they share its statements and
 * its commit (one WAL flush instead of one each). An idle service runs a request at once, as
 * a batch of one; there is no timer, the batches grow only as the load outgrows the database.
 *
 * A batch that fails for a reason that is not the database's state (a transient error:
 * everyone in it gets the error, to retry) is run again one request at a time, so one
 * request the database refuses cannot fail the others with it.
 */
export function createGroupCommit<Request, Result>(
  options: GroupCommitOptions<Request, Result>,
): GroupCommit<Request, Result> {
  const queue: Waiting<Request, Result>[] = [];
  let inFlight = 0;
  let startScheduled = false;

  function submit(request: Request, signal?: AbortSignal): Promise<Result> {
    // A rejection, never a throw: callers may not be async functions.
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<Result>((resolve, reject) => {
      const onAbort = () => {
        const index = queue.indexOf(waiting);
        if (index === -1) return; // already in a batch: its transaction answers it
        queue.splice(index, 1);
        reject(signal?.reason as Error);
      };
      const waiting: Waiting<Request, Result> = {
        request,
        signal,
        resolve,
        reject,
        stopListening: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.push(waiting);
      scheduleStart();
    });
  }

  // Started on the next turn of the event loop, not at once: the requests that one read from
  // a socket delivers (many gRPC calls in one HTTP/2 frame burst) then share a batch.
  function scheduleStart(): void {
    if (startScheduled || inFlight >= options.maxInFlight) return;
    startScheduled = true;
    setImmediate(() => {
      startScheduled = false;
      startBatches();
    });
  }

  function startBatches(): void {
    while (inFlight < options.maxInFlight && queue.length > 0) {
      const batch = takeBatch();
      for (const waiting of batch) waiting.stopListening();
      inFlight++;
      void runBatch(batch).finally(() => {
        inFlight--;
        if (queue.length > 0) scheduleStart();
      });
    }
  }

  /** Up to maxBatch waiting requests, oldest first, no two with the same key. */
  function takeBatch(): Waiting<Request, Result>[] {
    const { keyOf, maxBatch } = options;
    if (!keyOf) return queue.splice(0, maxBatch);
    const batch: Waiting<Request, Result>[] = [];
    const keys = new Set<string>();
    for (let index = 0; index < queue.length && batch.length < maxBatch;) {
      const waiting = queue[index] as Waiting<Request, Result>;
      const key = keyOf(waiting.request);
      if (keys.has(key)) {
        index++;
        continue;
      }
      keys.add(key);
      batch.push(waiting);
      queue.splice(index, 1);
    }
    return batch;
  }

  async function runBatch(batch: Waiting<Request, Result>[]): Promise<void> {
    options.onBatch?.(batch.length);
    let outcomes: Outcome<Result>[];
    try {
      outcomes = await options.run(batch);
    } catch (error) {
      if (batch.length === 1 || isTransientDatabaseError(error)) {
        for (const waiting of batch) waiting.reject(error);
        return;
      }
      for (const waiting of batch) await runBatch([waiting]);
      return;
    }
    batch.forEach((waiting, index) => {
      const outcome = outcomes[index];
      if (!outcome) waiting.reject(new Error('the batch gave no outcome for this request'));
      else if (outcome.ok) waiting.resolve(outcome.value);
      else waiting.reject(outcome.error);
    });
  }

  return { submit };
}
