import { execFile } from 'node:child_process';
import { createServer as createTcpServer, type Server } from 'node:net';
import { TLSSocket, createServer as createTlsServer } from 'node:tls';
import { promisify } from 'node:util';
import { createCertificateAuthority, issueServiceCertificate } from '@switchboard/dev-certs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TLS_PROBE_SCRIPT, type TlsProbe } from '../src/tls-probe.js';

// The probe script the audit runs inside a container, run here as a process against real
// listeners: an mTLS server (as inventory's gRPC port), plain HTTP (as an ops port), and a
// NATS-like server that speaks first.
const servers: Server[] = [];
const ports = { mtls: 0, plain: 0, natsPlain: 0, natsTls: 0, postgresTls: 0, postgresPlain: 0 };

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

function natsLike(tlsRequired: boolean): Server {
  return createTcpServer((socket) => {
    socket.on('error', () => {});
    socket.write(`INFO {"server_id":"x","tls_required":${tlsRequired}}\r\n`);
  });
}

/**
 * Speaks as Postgres before 17 does: waits for the client's SSLRequest (8 bytes) and answers
 * 'S' then takes the TLS handshake on the same socket, or 'N' when it has no TLS.
 */
function postgresLike(tls: { key: string; cert: string } | undefined): Server {
  return createTcpServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', (request) => {
      const isSslRequest = request.length === 8 && request.readUInt32BE(4) === 80877103;
      if (!isSslRequest || !tls) return void socket.end('N');
      socket.write('S');
      new TLSSocket(socket, { isServer: true, ...tls }).on('error', () => {});
    });
  });
}

beforeAll(async () => {
  const ca = await createCertificateAuthority({ commonName: 'probe test CA' });
  const issued = await issueServiceCertificate(ca, { name: 'inventory' });
  ports.postgresTls = await listen(
    postgresLike({ key: issued.privateKey, cert: issued.certificate }),
  );
  ports.postgresPlain = await listen(postgresLike(undefined));
  ports.mtls = await listen(
    createTlsServer({
      key: issued.privateKey,
      cert: issued.certificate,
      ca: ca.certificate,
      requestCert: true,
      rejectUnauthorized: true,
    }).on('tlsClientError', () => {}),
  );
  ports.plain = await listen(
    createTcpServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    }),
  );
  ports.natsPlain = await listen(natsLike(false));
  ports.natsTls = await listen(natsLike(true));
});

afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

async function probe(port: number): Promise<TlsProbe> {
  const { stdout } = await promisify(execFile)(process.execPath, [
    '-e',
    TLS_PROBE_SCRIPT,
    JSON.stringify([{ host: '127.0.0.1', port }]),
  ]);
  const [result] = JSON.parse(stdout) as TlsProbe[];
  if (!result) throw new Error('no probe result');
  return result;
}

describe('the TLS probe', () => {
  it('finds TLS on an mTLS listener, though it shows no client certificate', async () => {
    const result = await probe(ports.mtls);
    expect(result.tls).toBe(true);
    expect(result.evidence).toMatch(/TLS/);
  });

  it('finds no TLS on a plaintext HTTP listener', async () => {
    const result = await probe(ports.plain);
    expect(result.tls).toBe(false);
    expect(result.evidence).toMatch(/^no TLS/);
  });

  it("finds TLS behind Postgres's SSLRequest, and none where the server answers N", async () => {
    const withTls = await probe(ports.postgresTls);
    expect(withTls.tls).toBe(true);
    expect(withTls.evidence).toMatch(/^Postgres SSLRequest: S, then TLS handshake/);
    expect((await probe(ports.postgresPlain)).tls).toBe(false);
  });

  it("reads a NATS server's INFO: tls_required or not", async () => {
    expect(await probe(ports.natsPlain)).toMatchObject({
      tls: false,
      evidence: 'NATS INFO: tls_required false',
    });
    expect(await probe(ports.natsTls)).toMatchObject({
      tls: true,
      evidence: 'NATS INFO: tls_required true',
    });
  });
});
