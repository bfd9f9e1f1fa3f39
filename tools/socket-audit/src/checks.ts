import type { ProcSocket, SocketReport } from '@switchboard/sockets';
import type { AllowedPlaintext } from './allow-list.js';
import type { ProjectContainer } from './docker.js';
import type { Link } from './links.js';
import type { TlsProbe } from './tls-probe.js';

/** One line of the audit's table; a finding fails the audit. */
export interface AuditRow {
  check: 'service' | 'listener' | 'published' | 'link' | 'socket file';
  subject: string;
  detail: string;
  verdict: string;
  finding: boolean;
}

export interface AuditInput {
  containers: ProjectContainer[];
  /** GET /sockets of each Switchboard service, or why it could not be read. */
  reports: { container: ProjectContainer; report: SocketReport | { error: string } }[];
  links: Link[];
  probes: TlsProbe[];
  allowList: AllowedPlaintext[];
}

export const ALLOWED_PLAINTEXT = 'allowed, not yet TLS';

/** The rules of the audit, on what was gathered: no I/O here. */
export function auditSockets(input: AuditInput): AuditRow[] {
  return [
    ...serviceRows(input),
    ...listenerRows(input),
    ...publishedRows(input),
    ...linkRows(input),
    ...socketFileRows(input),
  ];
}

function serviceRows({ containers, reports }: AuditInput): AuditRow[] {
  const audited = new Set(reports.map(({ container }) => container));
  return containers.map((container): AuditRow => {
    const report = reports.find((entry) => entry.container === container)?.report;
    if (!audited.has(container)) {
      return row(
        'service',
        container.service,
        'no ops port: its listeners are not read',
        'not audited',
        false,
      );
    }
    if (report && 'error' in report) {
      return row(
        'service',
        container.service,
        `GET /sockets failed: ${report.error}`,
        'FINDING',
        true,
      );
    }
    return row('service', container.service, `GET /sockets of pid ${report?.pid}`, 'ok', false);
  });
}

function listenerRows({ reports }: AuditInput): AuditRow[] {
  return reports.flatMap(({ container, report }) => {
    if ('error' in report) return [];
    const declared = report.sockets
      .filter((socket) => socket.role === 'listener' && socket.declaredAs)
      .map((socket) =>
        row(
          'listener',
          `${container.service} ${socket.protocol} ${socket.local}`,
          `${socket.declaredAs}${socket.tls ? ', TLS' : ''}`,
          'declared',
          false,
        ),
      );
    const undeclared = report.undeclaredListeners.map((socket) =>
      isDockerDns(socket, report)
        ? row(
            'listener',
            `${container.service} ${socket.protocol} ${socket.local}`,
            "Docker's embedded DNS server (dockerd's socket in the container's namespace)",
            'runtime',
            false,
          )
        : row(
            'listener',
            `${container.service} ${socket.protocol} ${socket.local}`,
            `undeclared (inode ${socket.inode}, ${report.sockets.some((own) => own.inode === socket.inode) ? 'the service' : 'another process'})`,
            'FINDING',
            true,
          ),
    );
    return [...declared, ...undeclared];
  });
}

/**
 * On a user-defined network, dockerd listens on 127.0.0.11 (TCP and UDP, random ports) inside
 * each container's network namespace: the container's DNS resolver. Not the service's, and
 * reachable only from inside the container.
 */
function isDockerDns(socket: ProcSocket, report: SocketReport): boolean {
  const heldByService = report.sockets.some((own) => own.inode === socket.inode);
  return !heldByService && socket.local.startsWith(`${DOCKER_DNS_ADDRESS}:`);
}

const DOCKER_DNS_ADDRESS = '127.0.0.11';

function publishedRows({ containers, reports }: AuditInput): AuditRow[] {
  return containers.flatMap((container) =>
    container.published.map((binding) => {
      const report = reports.find((entry) => entry.container === container)?.report;
      const publicListener =
        report && !('error' in report)
          ? report.declared.listeners.find(
              (listener) => listener.public && listener.port === binding.containerPort,
            )
          : undefined;
      const subject = `${container.service} ${binding.containerPort}/${binding.protocol}`;
      const detail = `on the host at ${binding.hostIp || '*'}:${binding.hostPort}`;
      return publicListener
        ? row('published', subject, `${detail} (${publicListener.name}, public)`, 'ok', false)
        : row('published', subject, `${detail}: not a declared public port`, 'FINDING', true);
    }),
  );
}

function linkRows({ links, probes, allowList }: AuditInput): AuditRow[] {
  return links.map((link) => {
    const listener = `${link.to}:${link.port}`;
    const subject = `${link.from} -> ${listener}`;
    const probe = probes.find(
      (candidate) => candidate.host === link.host && candidate.port === link.port,
    );
    if (!probe) return row('link', subject, 'not probed', 'FINDING', true);
    if (probe.tls) return row('link', subject, probe.evidence, 'TLS', false);
    if (link.declaredTls) {
      return row('link', subject, `declared TLS, but ${probe.evidence}`, 'FINDING', true);
    }
    const allowed = allowList.find((entry) => entry.listener === listener);
    return allowed
      ? row('link', subject, allowed.reason, ALLOWED_PLAINTEXT, false)
      : row('link', subject, `${probe.evidence}; not in the allow-list`, 'FINDING: not TLS', true);
  });
}

function socketFileRows({ reports }: AuditInput): AuditRow[] {
  return reports.flatMap(({ container, report }) =>
    'error' in report
      ? []
      : report.socketFiles.map((file) => {
          const subject = `${container.service} ${file.path}`;
          if (file.error) return row('socket file', subject, file.error, 'FINDING', true);
          const ok = file.mode === file.expectedMode;
          return row(
            'socket file',
            subject,
            `mode ${file.mode}${ok ? '' : `, must be ${file.expectedMode}`}`,
            ok ? 'ok' : 'FINDING',
            !ok,
          );
        }),
  );
}

function row(
  check: AuditRow['check'],
  subject: string,
  detail: string,
  verdict: string,
  finding: boolean,
): AuditRow {
  return { check, subject, detail, verdict, finding };
}
