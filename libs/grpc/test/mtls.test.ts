import { InventoryServiceService } from '@switchboard/contracts';
import {
  createCertificateAuthority,
  issueServiceCertificate,
  writeAtomically,
  type CertificateAuthority,
  type Validity,
} from '@switchboard/dev-certs';
import { AppError } from '@switchboard/errors';
import { createLogger, createMetricsRegistry } from '@switchboard/observability';
import { Client, credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createGrpcClient,
  createGrpcServer,
  type ServiceHandlers,
  type TlsFiles,
} from '../src/index.js';

// Real certificates, made by the same code as the compose system's (tools/dev-certs), on
// real sockets: every refusal here is the TLS handshake's, not a check of ours beside it.

const logger = createLogger({ service: 'mtls-test', level: 'silent' });
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let dir: string;
let ca: CertificateAuthority;
let otherCa: CertificateAuthority;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mtls-test-'));
  [ca, otherCa] = await Promise.all([
    createCertificateAuthority({ commonName: 'test CA' }),
    createCertificateAuthority({ commonName: 'another CA' }),
  ]);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

let fileCount = 0;
/** Issues a certificate for `name` and writes it, the key and the CA to fresh files. */
async function filesFor(
  name: string,
  options: { signedBy?: CertificateAuthority; trusting?: CertificateAuthority } & Validity = {},
): Promise<TlsFiles> {
  const issued = await issueServiceCertificate(options.signedBy ?? ca, { name, ...options });
  const prefix = join(dir, `${name}-${++fileCount}`);
  const files = {
    caFile: `${prefix}-ca.pem`,
    certFile: `${prefix}-cert.pem`,
    keyFile: `${prefix}-key.pem`,
  };
  await writeFiles(files, issued, options.trusting ?? ca);
  return files;
}

async function writeFiles(
  files: TlsFiles,
  issued: { certificate: string; privateKey: string },
  trusting: CertificateAuthority,
): Promise<void> {
  await writeAtomically(files.caFile, trusting.certificate, 0o644);
  await writeAtomically(files.keyFile, issued.privateKey, 0o600);
  await writeAtomically(files.certFile, issued.certificate, 0o644);
}

const inSeconds = (s: number) => new Date(Date.now() + s * 1000);
const getStock: ServiceHandlers<typeof InventoryServiceService>['getStock'] = (request) =>
  Promise.resolve({
    stock: { sku: request.sku, name: request.sku, onHand: 1, reserved: 0, available: 1 },
  });
const notImplemented = () => Promise.reject(new AppError('INTERNAL', 'not in this test'));

async function serveTls(tls: TlsFiles, channelOptions = {}) {
  const registry = createMetricsRegistry({ service: 'inventory' });
  const server = createGrpcServer({ logger, registry, channelOptions });
  server.addService(InventoryServiceService, {
    reserve: notImplemented,
    release: notImplemented,
    getStock,
    listStock: notImplemented,
    watchStock: () => ({
      [Symbol.asyncIterator]: () => ({
        next: () => Promise.resolve({ done: true, value: undefined }),
      }),
    }),
  });
  const port = await server.listen('127.0.0.1:0', { tls });
  cleanups.push(() => server.drain(100));
  return { port, registry };
}

function clientOf(port: number, tls: TlsFiles, serverName = 'inventory') {
  const registry = createMetricsRegistry({ service: 'purchase' });
  const client = createGrpcClient(InventoryServiceService, `dns:///127.0.0.1:${port}`, {
    registry,
    peerName: 'inventory',
    tls: { ...tls, serverName },
  });
  cleanups.push(() => client.close());
  return { client, registry };
}

/** A call by plain grpc-js with the given credentials; resolves with the status code. */
function rawCallStatus(port: number, channelCredentials: ChannelCredentials): Promise<number> {
  const client = new Client(`127.0.0.1:${port}`, channelCredentials, {
    'grpc.ssl_target_name_override': 'inventory',
  });
  cleanups.push(() => client.close());
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      () => Buffer.alloc(0),
      (bytes: Buffer) => bytes,
      {},
      { deadline: inSeconds(3) },
      (error) => resolve(error ? error.code : 0),
    );
  });
}

const UNAVAILABLE = 14;

describe('mTLS on gRPC over TCP', () => {
  it('serves a client whose certificate is from the CA, and reports when both certificates expire', async () => {
    const { port, registry } = await serveTls(await filesFor('inventory'));
    const { client, registry: clientRegistry } = clientOf(port, await filesFor('purchase'));
    const response = await client.getStock({ sku: 'sku-1' }, { deadline: inSeconds(3) });
    expect(response.stock?.sku).toBe('sku-1');
    for (const text of [await registry.metrics(), await clientRegistry.metrics()]) {
      expect(text).toMatch(
        /tls_certificate_expiry_seconds\{certificate="ca",file="[^"]+"[^}]*\} \d+/,
      );
      // A service certificate from dev-certs is valid for 90 days.
      const identity = /tls_certificate_expiry_seconds\{certificate="identity",[^}]*\} (\d+)/.exec(
        text,
      );
      expect(Number(identity?.[1])).toBeGreaterThan(89 * 24 * 3600);
    }
  });

  it('refuses a client that presents no certificate', async () => {
    const { port } = await serveTls(await filesFor('inventory'));
    expect(await rawCallStatus(port, credentials.createSsl(Buffer.from(ca.certificate)))).toBe(
      UNAVAILABLE,
    );
    expect(await rawCallStatus(port, credentials.createInsecure())).toBe(UNAVAILABLE);
  });

  it('refuses a client whose certificate is from another CA', async () => {
    const { port } = await serveTls(await filesFor('inventory'));
    const { client } = clientOf(port, await filesFor('purchase', { signedBy: otherCa }));
    await expect(
      client.getStock({ sku: 'sku-1' }, { deadline: inSeconds(3) }),
    ).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
  });

  it('refuses a client whose certificate has expired', async () => {
    const { port } = await serveTls(await filesFor('inventory'));
    const expired = await filesFor('purchase', {
      notBefore: new Date(Date.now() - 2 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    const { client } = clientOf(port, expired);
    await expect(
      client.getStock({ sku: 'sku-1' }, { deadline: inSeconds(3) }),
    ).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
  });

  it('refuses a server whose certificate does not name the expected service, even from the CA', async () => {
    const { port } = await serveTls(await filesFor('impostor'));
    const { client } = clientOf(port, await filesFor('purchase'), 'inventory');
    await expect(
      client.getStock({ sku: 'sku-1' }, { deadline: inSeconds(3) }),
    ).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
  });

  it('picks up renewed certificates on both sides under traffic, with no failed call', async () => {
    // Both first certificates expire 5 s from now: after that, only a reload keeps calls going.
    const firstValidity = { notAfter: inSeconds(5) };
    const serverFiles = { ...(await filesFor('inventory', firstValidity)), reloadIntervalMs: 200 };
    const clientFiles = { ...(await filesFor('purchase', firstValidity)), reloadIntervalMs: 200 };
    // Connections last 300 ms, so new handshakes keep happening throughout.
    const { port } = await serveTls(serverFiles, {
      'grpc.max_connection_age_ms': 300,
      'grpc.max_connection_age_grace_ms': 1_000,
    });
    const { client } = clientOf(port, clientFiles);

    let succeeded = 0;
    const failures: unknown[] = [];
    const until = Date.now() + 8_000;
    const worker = async () => {
      while (Date.now() < until) {
        try {
          await client.getStock({ sku: 'sku-1' }, { deadline: inSeconds(2) });
          succeeded++;
        } catch (error) {
          failures.push(error);
        }
      }
    };
    const traffic = Promise.all([worker(), worker(), worker(), worker()]);

    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const renewedServer = await issueServiceCertificate(ca, { name: 'inventory' });
    await writeFiles(serverFiles, renewedServer, ca);
    await writeFiles(clientFiles, await issueServiceCertificate(ca, { name: 'purchase' }), ca);
    await traffic;

    expect(failures).toEqual([]);
    expect(succeeded).toBeGreaterThan(100);
    // And what the server shows a new connection now is the renewed certificate.
    const served = await servedCertificate(port);
    expect(served.fingerprint256).toBe(
      new X509Certificate(renewedServer.certificate).fingerprint256,
    );
  });
});

/** The certificate a server presents in a handshake (not verified: only looked at). */
function servedCertificate(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      {
        host: '127.0.0.1',
        port,
        servername: 'inventory',
        rejectUnauthorized: false,
        ALPNProtocols: ['h2'],
      },
      () => {
        const certificate = socket.getPeerX509Certificate();
        socket.destroy();
        if (certificate) resolve(certificate);
        else reject(new Error('no certificate presented'));
      },
    );
    socket.on('error', reject);
  });
}
