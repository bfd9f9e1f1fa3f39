import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureDevCertificates } from '../src/index.js';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('ensureDevCertificates', () => {
  let root: string;
  const options = () => ({
    caDir: join(root, 'ca'),
    certsDir: join(root, 'certs'),
    services: ['inventory', 'purchase'],
  });
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'dev-certs-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('makes a CA and a certificate per service, named by its service and signed by the CA', async () => {
    await ensureDevCertificates(options());
    const ca = new X509Certificate(await readFile(join(root, 'ca', 'ca.pem')));
    expect(ca.ca).toBe(true);
    for (const name of ['inventory', 'purchase']) {
      const dir = join(root, 'certs', name);
      const certificate = new X509Certificate(await readFile(join(dir, 'cert.pem')));
      expect(certificate.subjectAltName).toBe(`DNS:${name}`);
      expect(certificate.verify(ca.publicKey)).toBe(true);
      expect(new X509Certificate(await readFile(join(dir, 'ca.pem'))).fingerprint256).toBe(
        ca.fingerprint256,
      );
      expect((await stat(join(dir, 'key.pem'))).mode & 0o777).toBe(0o600);
    }
  });

  it('writes the key of a server listed in readableKeys 0644, for it to copy, and the others 0600', async () => {
    await ensureDevCertificates({
      ...options(),
      services: ['postgres', 'purchase'],
      readableKeys: ['postgres'],
    });

    expect((await stat(join(root, 'certs', 'postgres', 'key.pem'))).mode & 0o777).toBe(0o644);
    expect((await stat(join(root, 'certs', 'purchase', 'key.pem'))).mode & 0o777).toBe(0o600);
  });

  it("names a service's nodes in its certificate, and reissues one that lacks a node's name", async () => {
    await ensureDevCertificates({ ...options(), services: ['nats'] });
    const report = await ensureDevCertificates({
      ...options(),
      services: ['nats'],
      nodeNames: { nats: ['nats-1', 'nats-2'] },
    });

    expect(report).toEqual(['CA: valid, kept', 'nats: issued (the certificate is not for nats-1)']);
    const certificate = new X509Certificate(
      await readFile(join(root, 'certs', 'nats', 'cert.pem')),
    );
    expect(certificate.subjectAltName).toBe('DNS:nats, DNS:nats-1, DNS:nats-2');
  });

  it('keeps valid certificates as they are on the next run', async () => {
    await ensureDevCertificates(options());
    const before = await readFile(join(root, 'certs', 'inventory', 'cert.pem'), 'utf8');
    const report = await ensureDevCertificates(options());
    expect(report).toEqual(['CA: valid, kept', 'inventory: valid, kept', 'purchase: valid, kept']);
    expect(await readFile(join(root, 'certs', 'inventory', 'cert.pem'), 'utf8')).toBe(before);
  });

  it('renews a service certificate that is close to its expiry, with the same CA', async () => {
    await ensureDevCertificates({ ...options(), serviceValidDays: 10 });
    const ca = await readFile(join(root, 'ca', 'ca.pem'), 'utf8');
    const report = await ensureDevCertificates({ ...options(), renewWithinDays: 30 });
    expect(report[1]).toMatch(/^inventory: issued \(the certificate expires on /);
    const renewed = new X509Certificate(
      await readFile(join(root, 'certs', 'inventory', 'cert.pem')),
    );
    expect(Date.parse(renewed.validTo) - Date.now()).toBeGreaterThan(80 * DAY_MS);
    expect(await readFile(join(root, 'ca', 'ca.pem'), 'utf8')).toBe(ca);
  });

  it('reissues a certificate whose key does not match it', async () => {
    await ensureDevCertificates(options());
    const purchaseKey = await readFile(join(root, 'certs', 'purchase', 'key.pem'), 'utf8');
    await writeFile(join(root, 'certs', 'inventory', 'key.pem'), purchaseKey);
    const report = await ensureDevCertificates(options());
    expect(report).toContain('inventory: issued (the key does not match the certificate)');
  });
});
