import { execFile, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@switchboard/testing';
import {
  DockerComposeEnvironment,
  Wait,
  getContainerRuntimeClient,
  type StartedDockerComposeEnvironment,
} from 'testcontainers';

/** The docker-compose.yml topology, started for a test run. */
export interface ComposeSystem {
  /** Where purchase's public HTTP port is published on this host. */
  readonly baseUrl: string;
  /** The compose project name (random per run): what the socket audit is pointed at. */
  readonly project: string;
  /** `docker exec` of a command in one service's container; resolves with its exit code. */
  exec(service: string, command: string[]): Promise<{ exitCode: number; output: string }>;
  /** Runs SQL with psql inside the postgres container; returns psql's unaligned output. */
  psql(database: string, sql: string): Promise<string>;
  /**
   * Runs SQL as `role` over TCP from inside the postgres container: with the role's own
   * password (the file dev-certs made) unless another is given, to 127.0.0.1 unless
   * `overNetwork` (then to the container's address on the compose network, as a service
   * connects), with psql's default sslmode unless another is given. Resolves with psql's exit
   * code and output, so a refusal can be checked.
   */
  psqlAs(
    role: string,
    database: string,
    sql: string,
    options?: { password?: string; overNetwork?: boolean; sslmode?: string },
  ): Promise<{ exitCode: number; output: string }>;
  /** The service's container as Docker sees it, running or exited: `docker inspect`. */
  inspectService(service: string): ContainerDetails;
  /** The compose services that have a container, running or exited (dev-certs). */
  services(): string[];
  /** `docker stop` of one service's container: a peer that is gone, not one that is slow. */
  stopService(service: string): Promise<void>;
  /**
   * `docker start` of a stopped service; resolves once its healthcheck passes again, or, for
   * a service without one (nats), once it runs.
   */
  startService(service: string): Promise<void>;
  /** Messages a JetStream stream holds, from NATS monitoring (asked from inside the network). */
  streamMessages(stream: string): Promise<number>;
  /**
   * An instant PromQL query to the compose Prometheus, run with the promtool inside its
   * container (its port is not published).
   */
  prometheusQuery(query: string): Promise<PrometheusSample[]>;
  /** A service's /metrics text, fetched inside its container (ops ports are not published). */
  metricsOf(service: string): Promise<string>;
  /**
   * The containers of a service that are running, by name, in the order of their replica
   * number (a scaled service has several). For `docker` commands on one replica.
   */
  containersOf(service: string): string[];
  /**
   * Runs the compose CLI on this system (its project, files and environment), such as
   * `['up', '-d', '--no-recreate', '--scale', 'inventory=1', 'inventory']`; resolves with its
   * output, rejects if it fails.
   */
  compose(args: string[]): Promise<string>;
  /** `compose down -v`: containers, network and volumes go. */
  down(): Promise<void>;
}

/** The parts of `docker inspect` the hardening checks read. */
export interface ContainerDetails {
  Config: { User: string; Healthcheck?: { Test?: string[] } };
  HostConfig: { CapDrop: string[] | null; SecurityOpt: string[] | null; ReadonlyRootfs: boolean };
}

export interface PrometheusSample {
  metric: Record<string, string>;
  value: number;
}

type ComposeFlavour = 'v2' | 'v1';

const execFileAsync = promisify(execFile);

function succeeds(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Compose v2 (`docker compose`) where it works, else the standalone Compose v1 binary. */
function composeFlavour(): ComposeFlavour {
  if (succeeds('docker', ['compose', 'version'])) return 'v2';
  if (succeeds('docker-compose', ['version'])) return 'v1';
  throw new Error('neither `docker compose` (v2) nor `docker-compose` (v1) is installed');
}

export interface ComposeSystemOptions {
  /** Compose's own variables, such as INVENTORY_TARGET. */
  env?: Record<string, string>;
  /** The compose files, in order, each on top of the one before (docker-compose.yml alone). */
  files?: string[];
  /** The service whose port 8080 is the public one (purchase). */
  publicService?: string;
  /** Services without a healthcheck, and the log line each prints once it is ready. */
  readyLogLines?: Record<string, string>;
}

/**
 * Builds the images and starts docker-compose.yml under a project name of its own, with a
 * random host port for purchase, so it runs beside a system a developer already has up.
 */
export async function startComposeSystem(
  options: ComposeSystemOptions = {},
): Promise<ComposeSystem> {
  const flavour = composeFlavour();
  const project = `switchboard-e2e-${randomUUID().slice(0, 8)}`;
  const files = options.files ?? ['docker-compose.yml'];
  // All the test's load arrives from one address (Docker's port proxy): no per-client limit.
  const composeEnv = { PURCHASE_PUBLIC_PORT: '0', HTTP_RATE_LIMIT_MAX: '0', ...options.env };
  // Compose v2 names containers "<service>-1" (testcontainers strips the project), v1
  // "<project>_<service>_1".
  const containerName = (service: string) =>
    flavour === 'v2' ? `${service}-1` : `${project}_${service}_1`;

  let compose = new DockerComposeEnvironment(REPO_ROOT, files)
    .withProjectName(project)
    .withBuild()
    // Host port 0: Docker picks a free one. `env` sets compose's own variables, such as
    // INVENTORY_TARGET, the transport purchase calls inventory over.
    .withEnvironment(composeEnv)
    // nats runs FROM scratch, with no shell for a healthcheck; the others have healthchecks.
    .withWaitStrategy(containerName('nats'), Wait.forLogMessage('Server is ready'))
    // dev-certs makes the certificates and exits; the services start only after it succeeded.
    .withWaitStrategy(containerName('dev-certs'), Wait.forOneShotStartup())
    .withWaitStrategy(
      containerName('prometheus'),
      Wait.forLogMessage('Server is ready to receive web requests'),
    )
    .withStartupTimeout(120_000);
  for (const [service, line] of Object.entries(options.readyLogLines ?? {})) {
    compose = compose.withWaitStrategy(containerName(service), Wait.forLogMessage(line));
  }
  if (flavour === 'v1') {
    compose = compose.withClientOptions({
      executable: { standalone: true, executablePath: 'docker-compose' },
    });
  }
  const environment: StartedDockerComposeEnvironment = await compose.up();

  const publicContainer = environment.getContainer(
    containerName(options.publicService ?? 'purchase'),
  );
  const baseUrl = `http://${publicContainer.getHost()}:${publicContainer.getMappedPort(8080)}`;
  const client = await getContainerRuntimeClient();
  /** `docker ps -a` of this project's containers (and a filter of its own), one line each. */
  const composeContainers = (filter: string | undefined, format: string) =>
    execFileSync(
      'docker',
      [
        'ps',
        '-a',
        '--filter',
        `label=com.docker.compose.project=${project}`,
        ...(filter ? ['--filter', filter] : []),
        '--format',
        format,
      ],
      { encoding: 'utf8' },
    )
      .split('\n')
      .filter(Boolean);
  const dockerContainer = (service: string) =>
    client.container.getById(environment.getContainer(containerName(service)).getId());

  return {
    baseUrl,
    project,

    async exec(service, command) {
      const result = await environment.getContainer(containerName(service)).exec(command);
      return { exitCode: result.exitCode, output: result.output };
    },

    async psql(database, sql) {
      const postgres = environment.getContainer(containerName('postgres'));
      const result = await postgres.exec(['psql', '-U', 'postgres', '-d', database, '-tAc', sql]);
      if (result.exitCode !== 0) throw new Error(`psql failed: ${result.stderr}`);
      return result.stdout.trim();
    },

    async psqlAs(role, database, sql, options = {}) {
      const postgres = environment.getContainer(containerName('postgres'));
      const password = options.password ?? `$(cat /passwords/${role})`;
      const host = options.overNetwork ? '$(hostname -i)' : '127.0.0.1';
      // PGPASSWORD from the file, expanded inside the container; over TCP so the password is
      // checked (the Unix socket trusts local users).
      const result = await postgres.exec([
        'bash',
        '-c',
        `PGPASSWORD="${password}" PGSSLMODE=${options.sslmode ?? 'prefer'} ` +
          `psql -h "${host}" -U "$0" -d "$1" -v ON_ERROR_STOP=1 -tAc "$2"`,
        role,
        database,
        sql,
      ]);
      return { exitCode: result.exitCode, output: result.output.trim() };
    },

    inspectService(service) {
      // The docker CLI, by compose's labels: testcontainers knows only running containers.
      const id = composeContainers(`label=com.docker.compose.service=${service}`, '{{.ID}}')[0];
      if (!id) throw new Error(`no container for service ${service}`);
      const [details] = JSON.parse(
        execFileSync('docker', ['inspect', id], { encoding: 'utf8' }),
      ) as ContainerDetails[];
      return details!;
    },

    services() {
      return composeContainers(undefined, '{{.Label "com.docker.compose.service"}}').sort();
    },

    async stopService(service) {
      await client.container.stop(dockerContainer(service), { timeout: 10_000 });
    },

    async startService(service) {
      const container = dockerContainer(service);
      await client.container.start(container);
      const deadline = Date.now() + 60_000;
      for (;;) {
        const { State } = await client.container.inspect(container);
        if (State.Health ? State.Health.Status === 'healthy' : State.Running) return;
        if (Date.now() > deadline) throw new Error(`${service} is not healthy after a restart`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    },

    async streamMessages(stream) {
      // The nats image has no shell or curl, and its monitoring port is not published: ask
      // from purchase's container, with the Node.js it runs on.
      const script = `fetch('http://nats:8222/jsz?streams=true').then((r) => r.text()).then((t) => process.stdout.write(t))`;
      const purchase = environment.getContainer(containerName('purchase'));
      const result = await purchase.exec(['node', '-e', script]);
      if (result.exitCode !== 0) throw new Error(`NATS monitoring failed: ${result.stderr}`);
      const jsz = JSON.parse(result.stdout) as {
        account_details?: { stream_detail?: { name: string; state: { messages: number } }[] }[];
      };
      const streams = (jsz.account_details ?? []).flatMap((account) => account.stream_detail ?? []);
      const found = streams.find((candidate) => candidate.name === stream);
      if (!found) throw new Error(`NATS has no stream ${stream}`);
      return found.state.messages;
    },

    async prometheusQuery(query) {
      const prometheus = environment.getContainer(containerName('prometheus'));
      const result = await prometheus.exec([
        '/bin/promtool',
        'query',
        'instant',
        '-o',
        'json',
        'http://localhost:9090',
        query,
      ]);
      if (result.exitCode !== 0) throw new Error(`promtool query failed: ${result.output}`);
      const vector = JSON.parse(result.stdout) as {
        metric: Record<string, string>;
        value: [number, string];
      }[];
      return vector.map(({ metric, value }) => ({ metric, value: Number(value[1]) }));
    },

    async metricsOf(service) {
      const script = `fetch('http://127.0.0.1:9464/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))`;
      const result = await environment
        .getContainer(containerName(service))
        .exec(['node', '-e', script]);
      if (result.exitCode !== 0) throw new Error(`${service} /metrics failed: ${result.stderr}`);
      return result.stdout;
    },

    containersOf(service) {
      return composeContainers(
        `label=com.docker.compose.service=${service}`,
        '{{.Label "com.docker.compose.container-number"}} {{.State}} {{.Names}}',
      )
        .map((line) => line.split(' '))
        .filter(([, state]) => state === 'running')
        .sort(([a], [b]) => Number(a) - Number(b))
        .map(([, , name]) => name!);
    },

    async compose(args) {
      const [command, ...prefix] = flavour === 'v2' ? ['docker', 'compose'] : ['docker-compose'];
      const fileArgs = files.flatMap((file) => ['-f', file]);
      const { stdout, stderr } = await execFileAsync(
        command,
        [...prefix, '-p', project, ...fileArgs, ...args],
        { cwd: REPO_ROOT, env: { ...process.env, ...composeEnv }, maxBuffer: 16 * 1024 * 1024 },
      );
      return stdout + stderr;
    },

    async down() {
      await environment.down({ removeVolumes: true });
    },
  };
}
