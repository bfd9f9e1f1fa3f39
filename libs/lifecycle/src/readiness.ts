import { setTimeout as sleep } from 'node:timers/promises';
import type { Lifecycle } from './lifecycle.js';

/**
 * The last step of every start, so its stop is the first step of every stop (ADR 8): turns
 * ready, and registers the stop that turns not ready (/readyz 503, gRPC health NOT_SERVING)
 * and then waits `shutdownDelayMs` (SHUTDOWN_DELAY_MS), so balancers and clients notice
 * before the listeners close.
 */
export async function becomeReady(
  lifecycle: Pick<Lifecycle, 'onStop'>,
  options: { setReady(ready: boolean): void; shutdownDelayMs: number },
): Promise<void> {
  options.setReady(true);
  await lifecycle.onStop('readiness', async () => {
    options.setReady(false);
    await sleep(options.shutdownDelayMs);
  });
}
