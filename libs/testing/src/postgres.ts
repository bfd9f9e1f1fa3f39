import { PostgreSqlContainer, type StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import pg from 'pg';
import { Wait, type StartedNetwork } from 'testcontainers';
import { composeImage } from './compose-images.js';
import { startContainer } from './start-container.js';

const USER = 'switchboard';
const PASSWORD = 'switchboard';
/** The name other containers on the test network reach Postgres by. */
export const POSTGRES_ALIAS = 'postgres';

/**
 * Starts the Postgres image of docker-compose.yml, optionally on a network as "postgres", and
 * with server settings (`postgres -c name=value`), e.g. `{ track_commit_timestamp: 'on' }`;
 * `startupTimeoutMs` replaces testcontainers' 2 minutes to be ready.
 */
export async function startPostgres(
  options: {
    network?: StartedNetwork;
    settings?: Record<string, string>;
    startupTimeoutMs?: number;
  } = {},
): Promise<StartedPostgreSqlContainer> {
  return startContainer(() => {
    const settings = Object.entries(options.settings ?? {}).flatMap(([name, value]) => [
      '-c',
      `${name}=${value}`,
    ]);
    let container = new PostgreSqlContainer(composeImage('postgres'))
      .withDatabase('switchboard')
      .withUsername(USER)
      .withPassword(PASSWORD)
      // Not testcontainers' default health check: it execs pg_isready in the container every
      // 250 ms for the container's whole life. On a busy 2-core machine those execs pile up
      // (a load of 500, containers not ready after 10 minutes). The server's log says when it
      // is ready: once for the local-only server of the first start, once for the real one.
      // (["NONE"] is Docker's way to switch it off; testcontainers' type knows only CMD forms.)
      .withHealthCheck({ test: ['NONE'] as unknown as ['CMD'] })
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2));
    if (settings.length > 0) container = container.withCommand(['postgres', ...settings]);
    if (options.startupTimeoutMs)
      container = container.withStartupTimeout(options.startupTimeoutMs);
    return options.network
      ? container.withNetwork(options.network).withNetworkAliases(POSTGRES_ALIAS)
      : container;
  });
}

/**
 * A fresh, empty database on the server, so each test file starts from nothing while the
 * files share one container. Returns its URL as seen from the host.
 */
export async function createDatabase(
  container: StartedPostgreSqlContainer,
  name: string,
): Promise<string> {
  const admin = new pg.Client({ connectionString: container.getConnectionUri() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(container.getConnectionUri());
  url.pathname = `/${name}`;
  return url.toString();
}

/** The URL of a database as seen from another container on the same network. */
export function databaseUrlInNetwork(name: string): string {
  return `postgres://${USER}:${PASSWORD}@${POSTGRES_ALIAS}:5432/${name}`;
}
