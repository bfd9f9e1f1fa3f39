import {
  createCertificateAuthority,
  issueServiceCertificate,
  writeAtomically,
} from '@switchboard/dev-certs';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCertificateReloader, type TlsFiles } from '../src/index.js';

describe('createCertificateReloader', () => {
  let dir: string;
  let files: TlsFiles;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reloader-test-'));
    files = {
      caFile: join(dir, 'ca.pem'),
      certFile: join(dir, 'cert.pem'),
      keyFile: join(dir, 'key.pem'),
      reloadIntervalMs: 50,
    };
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("fails at once, naming the file, when the key is not the certificate's", async () => {
    const ca = await createCertificateAuthority({ commonName: 'test CA' });
    const [one, other] = await Promise.all([
      issueServiceCertificate(ca, { name: 'inventory' }),
      issueServiceCertificate(ca, { name: 'inventory' }),
    ]);
    await writeAtomically(files.caFile, ca.certificate, 0o644);
    await writeAtomically(files.certFile, one.certificate, 0o644);
    await writeAtomically(files.keyFile, other.privateKey, 0o600);
    expect(() => createCertificateReloader(files)).toThrow(
      `${files.keyFile} is not the key of the certificate in ${files.certFile}`,
    );
  });

  it('keeps the pair in use while the files hold a mismatched one, and takes the next whole pair', async () => {
    const ca = await createCertificateAuthority({ commonName: 'test CA' });
    const [first, second] = await Promise.all([
      issueServiceCertificate(ca, { name: 'inventory', validDays: 10 }),
      issueServiceCertificate(ca, { name: 'inventory', validDays: 20 }),
    ]);
    await writeAtomically(files.caFile, ca.certificate, 0o644);
    await writeAtomically(files.certFile, first.certificate, 0o644);
    await writeAtomically(files.keyFile, first.privateKey, 0o600);
    const reloader = createCertificateReloader(files);
    const published: string[] = [];
    const listener = (update: { certificate: Buffer } | null) => {
      if (update) published.push(new X509Certificate(update.certificate).fingerprint256);
    };
    reloader.addIdentityCertificateListener(listener);
    const identityExpiry = () =>
      reloader
        .loaded()
        .find((each) => each.certificate === 'identity')
        ?.notAfter.getTime();
    const firstExpiry = identityExpiry();

    // Half a renewal: the new key is there, the new certificate not yet.
    await writeAtomically(files.keyFile, second.privateKey, 0o600);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(identityExpiry()).toBe(firstExpiry);

    await writeAtomically(files.certFile, second.certificate, 0o644);
    await expect
      .poll(identityExpiry)
      .toBe(Date.parse(new X509Certificate(second.certificate).validTo));
    expect(published).toEqual([
      new X509Certificate(first.certificate).fingerprint256,
      new X509Certificate(second.certificate).fingerprint256,
    ]);
    reloader.removeIdentityCertificateListener(listener);
    reloader.close();
  });
});
