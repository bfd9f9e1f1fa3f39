import { createHash } from 'node:crypto';
import {
  GenericContainer,
  Wait,
  type StartedNetwork,
  type StartedTestContainer,
} from 'testcontainers';
import { REPO_ROOT } from './compose-images.js';
import { startContainer } from './start-container.js';

const GRPC_PORT = 50051;
/**
 * One tag per checkout: two checkouts testing at once on one Docker (worktrees, CI jobs)
 * would otherwise overwrite each other's image and test each other's code.
 */
const IMAGE_TAG = `switchboard/inventory:test-${createHash('sha256').update(REPO_ROOT).digest('hex').slice(0, 12)}`;
const OPS_PORT = 9464;
let imagePromise: Promise<GenericContainer> | undefined;

export interface SeedProduct {
  sku: string;
  name: string;
  onHand: number;
}

/**
 * The real inventory service, built from its Dockerfile, for tests of its peers: purchase is
 * tested against inventory as it ships, never against a fake.
 */
export async function startInventory(options: {
  network: StartedNetwork;
  databaseUrl: string;
  /** NATS as seen from the network, e.g. `StartedNats.urlInNetwork`. */
  natsUrl: string;
  products: SeedProduct[];
  /** More environment variables for the service (they win over the defaults here). */
  env?: Record<string, string>;
}): Promise<StartedTestContainer & { grpcTarget: string }> {
  imagePromise ??= GenericContainer.fromDockerfile(
    REPO_ROOT,
    'services/inventory/Dockerfile',
  ).build(IMAGE_TAG, { deleteOnExit: false });
  const image = await imagePromise;
  const container = await startContainer(() =>
    image
      .withNetwork(options.network)
      .withEnvironment({
        DATABASE_URL: options.databaseUrl,
        NATS_URL: options.natsUrl,
        SEED_FILE: '/tmp/seed.json',
        LOG_LEVEL: 'warn',
        SHUTDOWN_DELAY_MS: '0',
        ...options.env,
      })
      .withCopyContentToContainer([
        { content: JSON.stringify(options.products), target: '/tmp/seed.json' },
      ])
      .withExposedPorts(GRPC_PORT, OPS_PORT)
      .withWaitStrategy(Wait.forHttp('/readyz', OPS_PORT).forStatusCode(200))
      .withStartupTimeout(60_000),
  );
  return Object.assign(container, {
    grpcTarget: `dns:///${container.getHost()}:${container.getMappedPort(GRPC_PORT)}`,
  });
}
