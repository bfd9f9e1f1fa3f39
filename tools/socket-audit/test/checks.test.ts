import type { SocketReport } from '@switchboard/sockets';
import { describe, expect, it } from 'vitest';
import { readAllowList, DEFAULT_ALLOW_LIST } from '../src/allow-list.js';
import { ALLOWED_PLAINTEXT, auditSockets, type AuditInput } from '../src/checks.js';
import type { ProjectContainer } from '../src/docker.js';
import { findLinks } from '../src/links.js';
import type { TlsProbe } from '../src/tls-probe.js';

// The rules on the data the audit gathers: a topology shaped like docker-compose.yml.

function container(
  service: string,
  ip: string,
  extra: Partial<ProjectContainer> = {},
): ProjectContainer {
  return { id: service, service, running: true, ips: [ip], env: {}, published: [], ...extra };
}

const purchase = container('purchase', '172.20.0.6', {
  env: { OPS_PORT: '9464' },
  published: [{ containerPort: 8080, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: '8080' }],
});
const inventory = container('inventory', '172.20.0.5', { env: { OPS_PORT: '9464' } });
const postgres = container('postgres', '172.20.0.2');
const nats = container('nats', '172.20.0.3');

const ops = {
  name: 'ops',
  protocol: 'tcp' as const,
  port: 9464,
  tls: false,
  public: false,
  clients: 'Prometheus',
};

function purchaseReport(): SocketReport {
  return {
    service: 'purchase',
    pid: 7,
    declared: {
      service: 'purchase',
      listeners: [
        { name: 'http', protocol: 'tcp', port: 8080, tls: false, public: true, clients: 'anyone' },
        ops,
      ],
      peers: [],
    },
    sockets: [
      {
        inode: 1,
        protocol: 'tcp',
        state: 'LISTEN',
        listening: true,
        local: '0.0.0.0:8080',
        localPort: 8080,
        role: 'listener',
        declaredAs: 'http',
        tls: false,
      },
      {
        inode: 2,
        protocol: 'tcp',
        state: 'LISTEN',
        listening: true,
        local: '0.0.0.0:9464',
        localPort: 9464,
        role: 'listener',
        declaredAs: 'ops',
        tls: false,
      },
      {
        inode: 3,
        protocol: 'tcp',
        state: 'ESTABLISHED',
        listening: false,
        local: '172.20.0.6:40000',
        localPort: 40000,
        peer: '172.20.0.5:50051',
        peerPort: 50051,
        role: 'outbound',
        declaredAs: 'inventory',
        tls: true,
      },
      {
        inode: 4,
        protocol: 'tcp',
        state: 'ESTABLISHED',
        listening: false,
        local: '172.20.0.6:40001',
        localPort: 40001,
        peer: '172.20.0.2:5432',
        peerPort: 5432,
        role: 'outbound',
        declaredAs: 'postgres',
        tls: false,
      },
      {
        inode: 5,
        protocol: 'tcp',
        state: 'ESTABLISHED',
        listening: false,
        local: '172.20.0.6:40002',
        localPort: 40002,
        peer: '172.20.0.3:4222',
        peerPort: 4222,
        role: 'outbound',
        declaredAs: 'nats',
        tls: false,
      },
      // A client on the host (the gateway): the public edge, not a link between services.
      {
        inode: 6,
        protocol: 'tcp',
        state: 'ESTABLISHED',
        listening: false,
        local: '172.20.0.6:8080',
        localPort: 8080,
        peer: '172.20.0.1:55555',
        peerPort: 55555,
        role: 'inbound',
        declaredAs: 'http',
        tls: false,
      },
    ],
    undeclaredListeners: [],
    socketFiles: [],
  };
}

function inventoryReport(): SocketReport {
  return {
    service: 'inventory',
    pid: 8,
    declared: {
      service: 'inventory',
      listeners: [
        {
          name: 'grpc',
          protocol: 'tcp',
          port: 50051,
          tls: true,
          public: false,
          clients: 'purchase',
        },
        {
          name: 'grpc-socket',
          protocol: 'unix',
          path: '/run/switchboard/inventory.sock',
          tls: false,
          public: false,
          clients: 'group',
          mode: 0o660,
        },
        ops,
      ],
      peers: [],
    },
    sockets: [
      {
        inode: 11,
        protocol: 'tcp',
        state: 'LISTEN',
        listening: true,
        local: '[::]:50051',
        localPort: 50051,
        role: 'listener',
        declaredAs: 'grpc',
        tls: true,
      },
      {
        inode: 12,
        protocol: 'tcp',
        state: 'ESTABLISHED',
        listening: false,
        local: '[::ffff:172.20.0.5]:50051',
        localPort: 50051,
        peer: '[::ffff:172.20.0.6]:40000',
        peerPort: 40000,
        role: 'inbound',
        declaredAs: 'grpc',
        tls: true,
      },
    ],
    undeclaredListeners: [],
    socketFiles: [{ path: '/run/switchboard/inventory.sock', mode: '0660', expectedMode: '0660' }],
  };
}

const probes: TlsProbe[] = [
  { host: '172.20.0.5', port: 50051, tls: true, evidence: 'TLS handshake (TLSv1.3)' },
  {
    host: '172.20.0.2',
    port: 5432,
    tls: true,
    evidence: 'Postgres SSLRequest: S, then TLS handshake (TLSv1.3)',
  },
  { host: '172.20.0.3', port: 4222, tls: true, evidence: 'NATS INFO: tls_required true' },
];

async function input(change: (value: AuditInput) => void = () => {}): Promise<AuditInput> {
  const reports = [
    { container: purchase, report: purchaseReport() },
    { container: inventory, report: inventoryReport() },
  ];
  const containers = [purchase, inventory, postgres, nats];
  const value: AuditInput = {
    containers,
    reports,
    links: findLinks(containers, reports),
    probes: probes.map((probe) => ({ ...probe })),
    allowList: await readAllowList(DEFAULT_ALLOW_LIST),
  };
  change(value);
  return value;
}

const findings = (value: AuditInput) =>
  auditSockets(value)
    .filter((row) => row.finding)
    .map((row) => `${row.check} ${row.subject}: ${row.verdict}`);

describe('auditSockets', () => {
  it('passes the compose topology: the links TLS, and only the public port published', async () => {
    const value = await input();
    expect(findings(value)).toEqual([]);
    const links = auditSockets(value).filter((row) => row.check === 'link');
    expect(links.map((row) => [row.subject, row.verdict])).toEqual([
      ['purchase -> inventory:50051', 'TLS'],
      ['purchase -> postgres:5432', 'TLS'],
      ['purchase -> nats:4222', 'TLS'],
    ]);
  });

  it('fails a plaintext link that is not in the allow-list, and allows it once it is', async () => {
    const plaintextPostgres = (audit: AuditInput) => {
      const probe = audit.probes.find((candidate) => candidate.port === 5432)!;
      probe.tls = false;
      probe.evidence = 'no TLS: ECONNRESET';
    };
    expect(findings(await input(plaintextPostgres))).toEqual([
      'link purchase -> postgres:5432: FINDING: not TLS',
    ]);

    const allowed = await input((audit) => {
      plaintextPostgres(audit);
      audit.allowList.push({ listener: 'postgres:5432', reason: 'a test' });
    });
    expect(findings(allowed)).toEqual([]);
    const link = auditSockets(allowed).find((row) => row.subject === 'purchase -> postgres:5432');
    expect(link?.verdict).toBe(ALLOWED_PLAINTEXT);
  });

  it('fails an undeclared listener', async () => {
    const value = await input((audit) => {
      const report = audit.reports[1]!.report as SocketReport;
      report.undeclaredListeners.push({
        inode: 99,
        protocol: 'tcp',
        state: 'LISTEN',
        listening: true,
        local: '0.0.0.0:7777',
        localPort: 7777,
      });
    });
    expect(findings(value)).toEqual(['listener inventory tcp 0.0.0.0:7777: FINDING']);
  });

  it("shows Docker's embedded DNS listener on 127.0.0.11 as the runtime's, not a finding", async () => {
    const value = await input((audit) => {
      const report = audit.reports[0]!.report as SocketReport;
      report.undeclaredListeners.push(
        {
          inode: 70,
          protocol: 'tcp',
          state: 'LISTEN',
          listening: true,
          local: '127.0.0.11:38233',
          localPort: 38233,
        },
        {
          inode: 71,
          protocol: 'udp',
          state: 'UNCONNECTED',
          listening: true,
          local: '127.0.0.11:52131',
          localPort: 52131,
        },
      );
    });
    expect(findings(value)).toEqual([]);
    const rows = auditSockets(value).filter((row) => row.verdict === 'runtime');
    expect(rows.map((row) => row.subject)).toEqual([
      'purchase tcp 127.0.0.11:38233',
      'purchase udp 127.0.0.11:52131',
    ]);
  });

  it('fails a port published that is not the public one', async () => {
    const value = await input((audit) => {
      audit.containers[1] = {
        ...inventory,
        published: [{ containerPort: 9464, protocol: 'tcp', hostIp: '', hostPort: '9464' }],
      };
      audit.reports[1]!.container = audit.containers[1];
      audit.containers[2] = {
        ...postgres,
        published: [{ containerPort: 5432, protocol: 'tcp', hostIp: '', hostPort: '5432' }],
      };
    });
    expect(findings(value)).toEqual([
      'published inventory 9464/tcp: FINDING',
      'published postgres 5432/tcp: FINDING',
    ]);
  });

  it('fails a socket file whose mode is not 0660', async () => {
    const value = await input((audit) => {
      (audit.reports[1]!.report as SocketReport).socketFiles[0]!.mode = '0666';
    });
    expect(findings(value)).toEqual([
      'socket file inventory /run/switchboard/inventory.sock: FINDING',
    ]);
  });

  it('fails a link declared TLS whose listener does not speak it', async () => {
    const value = await input((audit) => {
      audit.probes = audit.probes.map((probe) =>
        probe.port === 50051 ? { ...probe, tls: false, evidence: 'no TLS' } : probe,
      );
    });
    expect(findings(value)).toEqual(['link purchase -> inventory:50051: FINDING']);
  });

  it('fails a service whose GET /sockets cannot be read', async () => {
    const value = await input((audit) => {
      audit.reports[0] = { container: purchase, report: { error: 'GET /sockets answered 404' } };
      audit.links = [];
    });
    // Without its declaration, its published port is not known to be the public one either.
    expect(findings(value)).toEqual([
      'service purchase: FINDING',
      'published purchase 8080/tcp: FINDING',
    ]);
  });
});

describe('readAllowList', () => {
  it('gives every entry of the shipped file a listener and a reason', async () => {
    const entries = await readAllowList(DEFAULT_ALLOW_LIST);
    expect(entries.map((entry) => entry.listener)).toEqual(['purchase:9464', 'inventory:9464']);
  });
});
