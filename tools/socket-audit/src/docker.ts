import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A container of the compose project, from `docker inspect`. */
export interface ProjectContainer {
  id: string;
  /** The compose service it runs (label com.docker.compose.service). */
  service: string;
  running: boolean;
  /** Its addresses on the project's networks. */
  ips: string[];
  env: Record<string, string>;
  /** Container ports bound on the host. */
  published: { containerPort: number; protocol: string; hostIp: string; hostPort: string }[];
}

interface InspectOutput {
  Id: string;
  Config: { Labels: Record<string, string> | null; Env: string[] | null };
  State: { Running: boolean };
  NetworkSettings: {
    Networks: Record<string, { IPAddress: string; GlobalIPv6Address: string }> | null;
    Ports: Record<string, { HostIp: string; HostPort: string }[] | null> | null;
  };
}

/** Every container of a compose project (v1 and v2 both set the project label). */
export async function listProjectContainers(project: string): Promise<ProjectContainer[]> {
  const { stdout } = await run('docker', [
    'ps',
    '--all',
    '--quiet',
    '--filter',
    `label=com.docker.compose.project=${project}`,
  ]);
  const ids = stdout.split('\n').filter((id) => id !== '');
  if (ids.length === 0) return [];
  const inspected = JSON.parse(
    (await run('docker', ['inspect', ...ids])).stdout,
  ) as InspectOutput[];
  return inspected.map(toProjectContainer);
}

function toProjectContainer(inspect: InspectOutput): ProjectContainer {
  const networks = Object.values(inspect.NetworkSettings.Networks ?? {});
  const published = Object.entries(inspect.NetworkSettings.Ports ?? {}).flatMap(
    ([key, bindings]) => {
      const [port = '', protocol = 'tcp'] = key.split('/');
      return (bindings ?? []).map((binding) => ({
        containerPort: Number(port),
        protocol,
        hostIp: binding.HostIp,
        hostPort: binding.HostPort,
      }));
    },
  );
  return {
    id: inspect.Id,
    service: inspect.Config.Labels?.['com.docker.compose.service'] ?? inspect.Id.slice(0, 12),
    running: inspect.State.Running,
    ips: networks
      .flatMap((network) => [network.IPAddress, network.GlobalIPv6Address])
      .filter(Boolean),
    env: Object.fromEntries(
      (inspect.Config.Env ?? []).map((entry) => {
        const separator = entry.indexOf('=');
        return [entry.slice(0, separator), entry.slice(separator + 1)];
      }),
    ),
    published,
  };
}

/**
 * Runs a Node.js script inside a container (`docker exec ... node -e`), with JSON in
 * process.argv[1], and parses the JSON it writes: the ops ports are not published, and the
 * probes must start on the compose network.
 */
export async function runNodeIn(
  container: ProjectContainer,
  script: string,
  input: unknown,
): Promise<unknown> {
  const { stdout } = await run(
    'docker',
    ['exec', container.id, 'node', '-e', script, JSON.stringify(input)],
    { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 },
  );
  return JSON.parse(stdout) as unknown;
}
