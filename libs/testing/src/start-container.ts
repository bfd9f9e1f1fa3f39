import { randomUUID } from 'node:crypto';
import { getContainerRuntimeClient } from 'testcontainers';

const ATTEMPT_LABEL = 'switchboard.test.attempt';
const ATTEMPTS = 3;

/** A container builder: testcontainers' GenericContainer or one of its modules. */
interface Startable<Started> {
  withLabels(labels: Record<string, string>): { start(): Promise<Started> };
}

/**
 * Starts a container, and starts a fresh one if Docker could not publish its port.
 *
 * Docker picks a published host port from the kernel's ephemeral range, the range outgoing
 * connections take their local ports from. On a busy machine a port Docker picked can be held
 * by a client socket at that moment, and the start fails with "port is already allocated";
 * the next attempt gets another port. `build` is called once per attempt, so it can choose a
 * new fixed host port too. A container whose start failed is removed, not left behind.
 */
export async function startContainer<Started>(
  build: () => Startable<Started> | Promise<Startable<Started>>,
): Promise<Started> {
  for (let attempt = 1; ; attempt++) {
    const label = randomUUID();
    try {
      const container = await build();
      return await container.withLabels({ [ATTEMPT_LABEL]: label }).start();
    } catch (error) {
      await removeAttempt(label);
      if (attempt >= ATTEMPTS || !String(error).includes('port is already allocated')) throw error;
    }
  }
}

/** A start that failed leaves its container created but never run; testcontainers keeps it. */
async function removeAttempt(label: string): Promise<void> {
  const client = await getContainerRuntimeClient();
  const container = await client.container.fetchByLabel(ATTEMPT_LABEL, label, {
    status: ['created'],
  });
  if (container) await client.container.remove(container, { removeVolumes: true });
}
