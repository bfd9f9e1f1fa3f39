import { execFileSync } from 'node:child_process';

/**
 * Whether kubectl (with kustomize built in) is on this machine. .ci/run does not install it,
 * so the tests that render the Kubernetes overlays run where it is.
 */
export function kubectlAvailable(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
