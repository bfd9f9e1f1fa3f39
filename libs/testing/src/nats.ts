import {
  GenericContainer,
  Wait,
  getContainerRuntimeClient,
  type StartedNetwork,
  type StartedTestContainer,
} from 'testcontainers';
import { composeImage } from './compose-images.js';
import { freePort } from './free-port.js';
import { startContainer } from './start-container.js';

const CLIENT_PORT = 4222;
/** The name other containers on the test network reach NATS by. */
export const NATS_ALIAS = 'nats';

export interface StartedNats extends StartedTestContainer {
  /** `nats://host:port` as seen from the host. */
  readonly url: string;
  /** `nats://nats:4222`, as seen from another container on the network. */
  readonly urlInNetwork: string;
  /** `docker stop`: the broker is gone until `resume`. Its JetStream store stays. */
  halt(): Promise<void>;
  /** `docker start` again, on the same host port; resolves once it serves clients. */
  resume(): Promise<void>;
}

export interface NatsOptions {
  network?: StartedNetwork;
  /**
   * Runs the server with this configuration file (a host path, e.g. deploy/nats's
   * nats-server.conf), mounted where compose mounts it; without it, JetStream with no auth.
   */
  configFile?: string;
  /** A host directory with ca.pem, cert.pem and key.pem, mounted at /etc/nats/tls. */
  tlsDir?: string;
}

/**
 * The NATS image of docker-compose.yml with JetStream on, as compose runs it. Its host port
 * is fixed for the container's life, so clients on the host reconnect to the address they
 * know after `halt`/`resume` (Docker would give a random mapping a new port at the restart).
 */
export async function startNats(options: NatsOptions = {}): Promise<StartedNats> {
  const started = await startContainer(async () => {
    let container = new GenericContainer(composeImage('nats'))
      .withCommand(
        options.configFile ? ['-c', '/etc/nats/nats-server.conf'] : ['-js', '-sd', '/data'],
      )
      // A fixed host port, not Docker's random mapping: see the comment above.
      .withExposedPorts({ container: CLIENT_PORT, host: await freePort() })
      // The image may have no shell (the CI stand-in runs FROM scratch): wait on its log.
      .withWaitStrategy(Wait.forLogMessage('Server is ready'))
      .withStartupTimeout(60_000);
    if (options.configFile) {
      container = container.withCopyFilesToContainer([
        { source: options.configFile, target: '/etc/nats/nats-server.conf' },
      ]);
    }
    if (options.tlsDir) {
      container = container.withCopyDirectoriesToContainer([
        { source: options.tlsDir, target: '/etc/nats/tls' },
      ]);
    }
    if (options.network) {
      container = container.withNetwork(options.network).withNetworkAliases(NATS_ALIAS);
    }
    return container;
  });
  const client = await getContainerRuntimeClient();
  const docker = client.container.getById(started.getId());
  const url = `nats://${started.getHost()}:${started.getMappedPort(CLIENT_PORT)}`;

  return Object.assign(started, {
    url,
    urlInNetwork: `nats://${NATS_ALIAS}:${CLIENT_PORT}`,
    async halt() {
      await client.container.stop(docker, { timeout: 10_000 });
    },
    async resume() {
      // The log keeps every earlier run's lines: wait for one more "Server is ready".
      const readyLines = async () => {
        const logs = await docker.logs({ stdout: true, stderr: true, follow: false });
        return logs.toString('utf8').split('Server is ready').length - 1;
      };
      const before = await readyLines();
      await client.container.start(docker);
      const deadline = Date.now() + 30_000;
      while ((await readyLines()) <= before) {
        if (Date.now() > deadline) throw new Error('NATS did not come back within 30 s');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
  });
}
