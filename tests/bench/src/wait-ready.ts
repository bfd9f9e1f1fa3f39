import { setTimeout as sleep } from 'node:timers/promises';

/** Resolves once `url` (a service's /readyz) answers 200; throws after 60 s. */
export async function waitReady(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const status = await fetch(url).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    await sleep(100);
  }
  throw new Error(`${url} not ready within 60 s`);
}
