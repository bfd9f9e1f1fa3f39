import { spawnSync } from 'node:child_process';
import { composeImage } from '@switchboard/testing';

export interface PromtoolResult {
  status: number | null;
  /** stdout and stderr together, as promtool prints its findings on either. */
  output: string;
}

/**
 * Runs promtool from the Prometheus image docker-compose.yml names (promtool ships in it), so
 * the checks use the very Prometheus the system runs with and need nothing on the host.
 * `mount` is a host folder mounted where compose mounts deploy/prometheus (/etc/prometheus),
 * and is the working directory; `input` goes to stdin.
 */
export function promtool(
  args: string[],
  options: { mount?: string; input?: string } = {},
): PromtoolResult {
  const docker = ['run', '--rm', '-i', '--entrypoint', '/bin/promtool'];
  if (options.mount)
    docker.push('-v', `${options.mount}:/etc/prometheus:ro`, '-w', '/etc/prometheus');
  const result = spawnSync('docker', [...docker, composeImage('prometheus'), ...args], {
    input: options.input ?? '',
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}
