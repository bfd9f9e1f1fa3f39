import { PostgreSqlContainer, type StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import pg from 'pg';
import { composeImage } from './compose-images.js';

/** Starts the Postgres image of docker-compose.yml; stop it with `await using` or stop(). */
export async function startPostgres(): Promise<StartedPostgreSqlContainer> {
  return new PostgreSqlContainer(composeImage('postgres'))
    .withDatabase('switchboard')
    .withUsername('switchboard')
    .withPassword('switchboard')
    .start();
}

/**
 * A fresh, empty database on the server, so each test file starts from nothing while the
 * files share one container.
 */
export async function createDatabase(container: StartedPostgreSqlContainer, name: string): Promise<string> {
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
