import { describe, expect, it } from 'vitest';
import { readConfig } from '../../src/config.js';
import { purchaseSocketDeclaration } from '../../src/socket-declaration.js';

const ports = { httpPort: 8080, opsPort: 9464 };
const declare = (env: Record<string, string>) =>
  purchaseSocketDeclaration(
    readConfig({ DATABASE_URL: 'postgres://purchase:purchase@postgres:5432/purchase', ...env }),
    ports,
  );
const tls = {
  GRPC_TLS_CA_FILE: '/tls/ca.pem',
  GRPC_TLS_CERT_FILE: '/tls/cert.pem',
  GRPC_TLS_KEY_FILE: '/tls/key.pem',
};

describe("purchase's socket declaration", () => {
  it('declares the stock ticks UDP listener only when STOCK_TICKS_PORT turns them on', () => {
    expect(declare({}).listeners.some((listener) => listener.protocol === 'udp')).toBe(false);
    expect(declare({ STOCK_TICKS_PORT: '7070' }).listeners[2]).toEqual({
      name: 'stock-ticks',
      protocol: 'udp',
      host: '0.0.0.0',
      port: 7070,
      tls: false,
      public: false,
      clients: 'inventory (stock ticks, ADR 26)',
    });
  });

  it('declares the public http port and the ops port, and only http as public', () => {
    const { listeners } = declare({});
    expect(listeners.map((listener) => [listener.name, listener.port, listener.public])).toEqual([
      ['http', 8080, true],
      ['ops', 9464, false],
    ]);
  });

  it('declares inventory over TCP with the TLS of GRPC_TLS_*, beside postgres, nats and its ops port', () => {
    expect(declare(tls).peers).toEqual([
      { name: 'postgres', protocol: 'tcp', host: 'postgres', port: 5432, tls: false },
      { name: 'nats', protocol: 'tcp', host: 'nats', port: 4222, tls: false },
      { name: 'inventory', protocol: 'tcp', host: 'inventory', port: 50051, tls: true },
      // The live page's socket panel reads inventory's GET /sockets (INVENTORY_OPS_URL).
      { name: 'inventory-ops', protocol: 'tcp', host: 'inventory', port: 9464, tls: false },
    ]);
    expect(declare({}).peers[2]).toMatchObject({ name: 'inventory', tls: false });
  });

  it('declares postgres TLS by the sslmode of DATABASE_URL, and nats TLS by NATS_TLS_* or a tls:// URL', () => {
    const peers = declare({
      DATABASE_URL: 'postgres://purchase@postgres:5432/purchase?sslmode=verify-full',
      NATS_URL: 'tls://nats:4222',
    }).peers;
    expect(peers.slice(0, 2)).toEqual([
      { name: 'postgres', protocol: 'tcp', host: 'postgres', port: 5432, tls: true },
      { name: 'nats', protocol: 'tcp', host: 'nats', port: 4222, tls: true },
    ]);
    const disabled = declare({ DATABASE_URL: 'postgres://p@postgres/purchase?sslmode=disable' });
    expect(disabled.peers[0]).toMatchObject({ name: 'postgres', tls: false });
  });

  it('declares one peer per address of an ipv4: target, the socket for unix:, none for nats:', () => {
    const peers = (target: string) =>
      declare({ INVENTORY_TARGET: target }).peers.filter((peer) => peer.name === 'inventory');
    expect(
      peers('ipv4:10.0.0.1:50051,10.0.0.2:50052').map((peer) => [peer.host, peer.port]),
    ).toEqual([
      ['10.0.0.1', 50051],
      ['10.0.0.2', 50052],
    ]);
    expect(peers('unix:///run/switchboard/inventory.sock')).toEqual([
      { name: 'inventory', protocol: 'unix', path: '/run/switchboard/inventory.sock', tls: false },
    ]);
    expect(peers('nats:inventory.v1')).toEqual([]);
  });
});
