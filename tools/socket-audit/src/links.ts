import { splitHostPort, type SocketReport } from '@switchboard/sockets';
import type { ProjectContainer } from './docker.js';

/** A TCP connection between two containers of the project, named by its listener's end. */
export interface Link {
  from: string;
  to: string;
  port: number;
  /** The listener's address, for the TLS probe. */
  host: string;
  /** TLS as the service that reported it declares it (its listener or its peer). */
  declaredTls?: boolean;
}

/**
 * The links between containers that the audited services' sockets show: connections they
 * opened (outbound) and connections accepted on their listeners (inbound). Loopback (the
 * healthcheck, the audit's own fetch) and peers outside the project (clients on the host)
 * are not links between services. One link per from, to and port.
 */
export function findLinks(
  containers: ProjectContainer[],
  reports: { container: ProjectContainer; report: SocketReport }[],
): Link[] {
  const byIp = new Map(
    containers.flatMap((container) => container.ips.map((ip) => [ip, container])),
  );
  const links = new Map<string, Link>();
  for (const { container, report } of reports) {
    for (const socket of report.sockets) {
      if (socket.protocol !== 'tcp' || socket.state !== 'ESTABLISHED' || !socket.peer) continue;
      const peer = splitHostPort(socket.peer);
      const other = byIp.get(peer.ip);
      if (!other || other === container) continue;
      const link: Link | undefined =
        socket.role === 'inbound'
          ? {
              from: other.service,
              to: container.service,
              port: socket.localPort ?? 0,
              host: splitHostPort(socket.local).ip,
              declaredTls: socket.tls,
            }
          : socket.role === 'outbound'
            ? {
                from: container.service,
                to: other.service,
                port: peer.port,
                host: peer.ip,
                declaredTls: socket.tls,
              }
            : undefined;
      if (link) links.set(`${link.from}>${link.to}:${link.port}`, link);
    }
  }
  return [...links.values()];
}
