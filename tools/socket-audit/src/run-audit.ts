import type { SocketReport } from '@switchboard/sockets';
import { readAllowList } from './allow-list.js';
import { auditSockets, type AuditRow } from './checks.js';
import { listProjectContainers, type ProjectContainer } from './docker.js';
import { findLinks } from './links.js';
import { fetchSocketReport, isSwitchboardService } from './socket-reports.js';
import { probeTls } from './tls-probe.js';

/** Gathers what the rules need from the running project, then applies them. */
export async function runAudit(options: {
  project: string;
  allowListFile: string | URL;
}): Promise<AuditRow[]> {
  const allowList = await readAllowList(options.allowListFile);
  const containers = (await listProjectContainers(options.project)).filter(
    (container) => container.running,
  );
  if (containers.length === 0) {
    throw new Error(`no running container of the compose project "${options.project}"`);
  }
  const services = containers.filter(isSwitchboardService);
  const reports = await Promise.all(
    services.map(async (container) => ({ container, report: await fetchSocketReport(container) })),
  );
  const read = reports.filter(
    (entry): entry is { container: ProjectContainer; report: SocketReport } =>
      !('error' in entry.report),
  );
  const links = findLinks(containers, read);
  // From a service's container: it has Node, and sits on the network the links run on.
  const prober = read[0]?.container;
  const listeners = [...new Map(links.map((link) => [`${link.host}:${link.port}`, link])).values()];
  const probes = prober
    ? await probeTls(
        prober,
        listeners.map(({ host, port }) => ({ host, port })),
      )
    : [];
  return auditSockets({ containers, reports, links, probes, allowList });
}
