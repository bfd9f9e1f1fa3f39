import type { DatagramTarget } from './sender.js';

/**
 * `purchase:7070,10.0.0.5:7070,[::1]:7070`: the subscribers of a sender, as an env var holds
 * them. Empty is none. A problem is named for the config's report.
 */
export function parseTargets(raw: string): DatagramTarget[] | { problem: string } {
  const targets: DatagramTarget[] = [];
  for (const entry of raw.split(',').map((part) => part.trim())) {
    if (entry === '') continue;
    const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[3]);
    const host = match?.[1] ?? match?.[2];
    if (!host || !(port >= 1 && port <= 65_535)) {
      return {
        problem: `${JSON.stringify(entry)} is not host:port (a name or IP, a port 1-65535)`,
      };
    }
    targets.push({ host, port });
  }
  return targets;
}
