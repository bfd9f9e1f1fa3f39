import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createDatabase,
  startNats,
  startPostgres,
  type SeedProduct,
  type StartedNats,
} from '@switchboard/testing';

/** What the services need around them: Postgres and NATS in containers, a seed file. */
export interface Infrastructure extends AsyncDisposable {
  readonly postgres: Awaited<ReturnType<typeof startPostgres>>;
  readonly nats: StartedNats;
  readonly purchaseDatabaseUrl: string;
  readonly inventoryDatabaseUrl: string;
  readonly seedFile: string;
}

export async function startInfrastructure(products: SeedProduct[]): Promise<Infrastructure> {
  const [postgres, nats] = await Promise.all([startPostgres(), startNats()]);
  const purchaseDatabaseUrl = await createDatabase(postgres, 'purchase');
  const inventoryDatabaseUrl = await createDatabase(postgres, 'inventory');
  const scratch = await mkdtemp(join(tmpdir(), 'switchboard-ops-'));
  const seedFile = join(scratch, 'products.json');
  await writeFile(seedFile, JSON.stringify(products));
  return {
    postgres,
    nats,
    purchaseDatabaseUrl,
    inventoryDatabaseUrl,
    seedFile,
    async [Symbol.asyncDispose]() {
      await Promise.all([postgres.stop(), nats.stop()]);
      await rm(scratch, { recursive: true, force: true });
    },
  };
}
