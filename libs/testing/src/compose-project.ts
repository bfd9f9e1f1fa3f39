import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from './compose-images.js';

const run = promisify(execFile);

/**
 * docker-compose.yml started under a project name of its own, driven by its CLI (bench:overload,
 * the audit demo); `env` sets compose's variables, such as PURCHASE_PUBLIC_PORT.
 */
export interface ComposeProject {
  readonly name: string;
  /** `up -d --build` of the services; resolves once each one with a healthcheck is healthy. */
  up(services: string[]): Promise<void>;
  /** The id of a service's container, for `docker exec` and `docker inspect`. */
  containerId(service: string): Promise<string>;
  /**
   * The host PID of a service's container (its init, with `init: true`): its network
   * namespace is /proc/PID/ns/net.
   */
  pidOf(service: string): Promise<number>;
  /** Runs SQL with psql inside the postgres container; returns the unaligned rows. */
  psql(database: string, sql: string): Promise<string[]>;
  /** `down -v`: containers, network and volumes go. Synchronous, so a signal handler can wait for it. */
  down(): void;
}

/** Compose v2 (`docker compose`) where it works, else the standalone Compose v1 binary. */
function composeCommand(): [string, string[]] {
  try {
    execFileSync('docker', ['compose', 'version'], { stdio: 'ignore' });
    return ['docker', ['compose']];
  } catch {
    return ['docker-compose', []];
  }
}

export function composeProject(name: string, env: Record<string, string>): ComposeProject {
  const [command, prefix] = composeCommand();
  const options = { cwd: REPO_ROOT, env: { ...process.env, ...env }, maxBuffer: 256 << 20 };
  const compose = (args: string[]) =>
    run(command, [...prefix, '-p', name, ...args], options).then(({ stdout }) => stdout.trim());
  const containerOf = async (service: string) => {
    const id = await compose(['ps', '-q', service]);
    if (!id) throw new Error(`compose project ${name} has no container for ${service}`);
    return id;
  };
  const inspect = async (id: string, format: string) =>
    (await run('docker', ['inspect', '-f', format, id])).stdout.trim();

  return {
    name,

    async up(services) {
      // The build and start-up output goes to stderr: stdout is for the results.
      await new Promise<void>((resolve, reject) => {
        const child = spawn(command, [...prefix, '-p', name, 'up', '-d', '--build', ...services], {
          ...options,
          stdio: ['ignore', 2, 2],
        });
        child.on('error', reject);
        child.on('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`compose up exited with ${code}`)),
        );
      });
      const deadline = Date.now() + 180_000;
      for (const service of services) {
        const id = await containerOf(service);
        for (;;) {
          const health = await inspect(id, '{{if .State.Health}}{{.State.Health.Status}}{{end}}');
          if (health === '' || health === 'healthy') break;
          if (Date.now() > deadline) throw new Error(`${service} is not healthy after 180 s`);
          await sleep(500);
        }
      }
    },

    containerId: containerOf,

    async pidOf(service) {
      return Number(await inspect(await containerOf(service), '{{.State.Pid}}'));
    },

    async psql(database, sql) {
      const id = await containerOf('postgres');
      const { stdout } = await run(
        'docker',
        [
          'exec',
          id,
          'psql',
          '-U',
          'postgres',
          '-d',
          database,
          '-v',
          'ON_ERROR_STOP=1',
          '-tAc',
          sql,
        ],
        { maxBuffer: 256 << 20 },
      );
      return stdout.split('\n').filter((line) => line !== '');
    },

    down() {
      execFileSync(command, [...prefix, '-p', name, 'down', '-v', '--remove-orphans'], {
        ...options,
        stdio: ['ignore', 2, 2],
      });
    },
  };
}
