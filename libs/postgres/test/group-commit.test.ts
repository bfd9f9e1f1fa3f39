import { describe, expect, it } from 'vitest';
import { createGroupCommit, type Batched, type Outcome } from '../src/group-commit.js';

/** A run that records its batches and finishes each when the test says so. */
function recordingRun() {
  const batches: string[][] = [];
  const finishers: (() => void)[] = [];
  async function run(batch: Batched<string>[]): Promise<Outcome<string>[]> {
    batches.push(batch.map(({ request }) => request));
    await new Promise<void>((resolve) => finishers.push(resolve));
    return batch.map(({ request }) =>
      request.startsWith('short')
        ? { ok: false, error: new Error(`${request} refused`) }
        : { ok: true, value: `done ${request}` },
    );
  }
  /** Finishes the oldest batch in flight, then lets the next one start. */
  async function finishNext(): Promise<void> {
    finishers.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { run, batches, finishNext };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('createGroupCommit', () => {
  it('runs a lone request at once, and the requests that come meanwhile together next', async () => {
    const { run, batches, finishNext } = recordingRun();
    const group = createGroupCommit({ run, maxBatch: 10, maxInFlight: 1 });

    const first = group.submit('a');
    await nextTurn();
    const later = ['b', 'c', 'd'].map((request) => group.submit(request));
    await nextTurn();
    expect(batches).toEqual([['a']]);

    await finishNext();
    expect(batches).toEqual([['a'], ['b', 'c', 'd']]);
    await finishNext();
    await expect(first).resolves.toBe('done a');
    await expect(Promise.all(later)).resolves.toEqual(['done b', 'done c', 'done d']);
  });

  it('answers each request of a batch with its own outcome', async () => {
    const { run, finishNext } = recordingRun();
    const group = createGroupCommit({ run, maxBatch: 10, maxInFlight: 1 });

    const answers = Promise.allSettled(['a', 'short-b', 'c'].map((r) => group.submit(r)));
    await nextTurn();
    await finishNext();

    expect(
      (await answers).map((a) => (a.status === 'fulfilled' ? a.value : String(a.reason))),
    ).toEqual(['done a', 'Error: short-b refused', 'done c']);
  });

  it('takes at most maxBatch requests, and keeps two with the same key apart', async () => {
    const { run, batches, finishNext } = recordingRun();
    const group = createGroupCommit({
      run,
      maxBatch: 3,
      maxInFlight: 1,
      keyOf: (request) => request.slice(0, 1),
    });

    const answers = ['a1', 'a2', 'b1', 'c1', 'd1'].map((request) => group.submit(request));
    await nextTurn();
    await finishNext();
    await finishNext();
    await Promise.all(answers);

    expect(batches).toEqual([
      ['a1', 'b1', 'c1'],
      ['a2', 'd1'],
    ]);
  });

  it('drops a caller who gives up while waiting, without running its request', async () => {
    const { run, batches, finishNext } = recordingRun();
    const group = createGroupCommit({ run, maxBatch: 10, maxInFlight: 1 });
    const first = group.submit('a');
    await nextTurn();

    const controller = new AbortController();
    const gaveUp = group.submit('b', controller.signal);
    const stays = group.submit('c');
    controller.abort(new Error('caller gone'));

    await expect(gaveUp).rejects.toThrow('caller gone');
    await finishNext();
    await finishNext();
    await Promise.all([first, stays]);
    expect(batches).toEqual([['a'], ['c']]);
  });

  it('runs a failed batch again one request at a time, so only the bad request fails', async () => {
    const batches: string[][] = [];
    const group = createGroupCommit<string, string>({
      run: (batch) => {
        batches.push(batch.map(({ request }) => request));
        if (batch.some(({ request }) => request === 'poison')) {
          return Promise.reject(new Error('value too long for type character varying(64)'));
        }
        return Promise.resolve(batch.map(({ request }) => ({ ok: true, value: request })));
      },
      maxBatch: 10,
      maxInFlight: 1,
    });

    const answers = await Promise.allSettled(['a', 'poison', 'b'].map((r) => group.submit(r)));

    expect(answers.map((answer) => answer.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(batches).toEqual([['a', 'poison', 'b'], ['a'], ['poison'], ['b']]);
  });

  it('fails the whole batch at once for a transient database error, without running it again', async () => {
    let runs = 0;
    const group = createGroupCommit<string, string>({
      run: () => {
        runs++;
        return Promise.reject(
          Object.assign(new Error('the database system is shutting down'), { code: '57P01' }),
        );
      },
      maxBatch: 10,
      maxInFlight: 1,
    });

    const answers = await Promise.allSettled(['a', 'b', 'c'].map((r) => group.submit(r)));

    expect(answers.map((answer) => answer.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(runs).toBe(1);
  });

  it('keeps up to maxInFlight batches in their transactions at once', async () => {
    const { run, batches, finishNext } = recordingRun();
    const sizes: number[] = [];
    const group = createGroupCommit({
      run,
      maxBatch: 10,
      maxInFlight: 2,
      onBatch: (size) => sizes.push(size),
    });

    const first = group.submit('a');
    await nextTurn();
    const second = group.submit('b');
    await nextTurn();
    const rest = ['c', 'd'].map((request) => group.submit(request));
    await nextTurn();
    expect(batches).toEqual([['a'], ['b']]);

    await finishNext();
    expect(batches).toEqual([['a'], ['b'], ['c', 'd']]);
    await finishNext();
    await finishNext();
    await Promise.all([first, second, ...rest]);
    expect(sizes).toEqual([1, 1, 2]);
  });
});
