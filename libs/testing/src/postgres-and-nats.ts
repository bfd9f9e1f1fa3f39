import type { StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import { startNats, type NatsOptions, type StartedNats } from './nats.js';
import { startPostgres } from './postgres.js';

/**
 * Postgres and NATS containers started side by side. Whichever started is handed to `stack`
 * to stop, even when the other failed (then this throws that failure).
 */
export async function startPostgresAndNats(
  stack: AsyncDisposableStack,
  options: { postgres?: Parameters<typeof startPostgres>[0]; nats?: NatsOptions } = {},
): Promise<[StartedPostgreSqlContainer, StartedNats]> {
  const started = await Promise.allSettled([
    startPostgres(options.postgres),
    startNats(options.nats),
  ]);
  for (const each of started) {
    if (each.status === 'fulfilled') stack.defer(() => each.value.stop().then(() => undefined));
  }
  const [postgres, nats] = started;
  if (postgres.status === 'rejected') throw postgres.reason;
  if (nats.status === 'rejected') throw nats.reason;
  return [postgres.value, nats.value];
}
