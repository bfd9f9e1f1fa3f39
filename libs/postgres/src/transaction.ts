import type pg from 'pg';

export interface TransactionOptions {
  /**
   * The caller's cancellation. Checked before BEGIN (a call may wait for a connection longer
   * than its caller waits for it) and before COMMIT (a caller who gave up was told the call
   * failed, so nothing it asked for may commit).
   */
  signal?: AbortSignal;
}

/**
 * Runs `work` in one transaction on a client of the pool: BEGIN, then COMMIT when `work`
 * resolves, ROLLBACK when it (or the COMMIT) throws. The client goes back to the pool
 * afterwards, unless even its ROLLBACK failed: a connection in an unknown state is destroyed
 * (`release(error)`) rather than handed to the next caller, where it would fail again or run
 * that caller's statements inside a transaction nobody ended.
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const { signal } = options;
  signal?.throwIfAborted();
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    signal?.throwIfAborted();
    await client.query('BEGIN');
    try {
      const result = await work(client);
      signal?.throwIfAborted();
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      throw error;
    }
  } finally {
    client.release(broken);
  }
}
