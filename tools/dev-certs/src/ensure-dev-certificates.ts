import { join } from 'node:path';
import { msUntilExpiry, reasonToReissue } from './certificate-check.js';
import { readIfPresent, writeAtomically } from './certificate-files.js';
import {
  createCertificateAuthority,
  issueServiceCertificate,
  type CertificateAuthority,
} from './issue-certificates.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface DevCertificatesOptions {
  /** Where the CA's certificate and key live; only this tool should see this directory. */
  caDir: string;
  /** Gets one directory per service, <certsDir>/<name>/{ca.pem,cert.pem,key.pem}. */
  certsDir: string;
  /** The services, by name: each name is its certificate's identity (its DNS SAN). */
  services: readonly string[];
  /**
   * Services whose key is written 0644 instead of 0600: a server that runs as another user
   * than this tool and cannot read a 0600 file it does not own (Postgres, which then copies
   * it to a 0600 file of its own at start). Only on a volume no one else mounts.
   */
  readableKeys?: readonly string[];
  /** More DNS names every certificate also holds (e.g. localhost, for tests). */
  extraDnsNames?: readonly string[];
  /**
   * More DNS names of one service's certificate, by service: the names of its nodes that
   * peers dial one by one, such as the three NATS nodes' routes (nats-1, nats-2, nats-3). A
   * certificate lacking one is reissued.
   */
  nodeNames?: Readonly<Record<string, readonly string[]>>;
  serviceValidDays?: number;
  caValidDays?: number;
  /** A certificate with less left than this is renewed. */
  renewWithinDays?: number;
  now?: Date;
}

/** What one run did, for the log: a line per file set. */
export type DevCertificatesReport = string[];

/**
 * Makes the development CA and a certificate per service if they are missing, and replaces
 * what is invalid or near its expiry; leaves valid files untouched, so running it at every
 * start is cheap and changes nothing the services hold.
 */
export async function ensureDevCertificates(
  options: DevCertificatesOptions,
): Promise<DevCertificatesReport> {
  const renewWithinMs = (options.renewWithinDays ?? 30) * DAY_MS;
  const report: DevCertificatesReport = [];
  const caCertPath = join(options.caDir, 'ca.pem');
  const caKeyPath = join(options.caDir, 'ca-key.pem');

  let ca: CertificateAuthority | undefined;
  const existing = await readCa(caCertPath, caKeyPath);
  if (existing && msUntilExpiry(existing.certificate, options.now) > renewWithinMs) {
    ca = existing;
    report.push('CA: valid, kept');
  } else {
    ca = await createCertificateAuthority({
      commonName: 'Switchboard development CA',
      validDays: options.caValidDays ?? 3650,
    });
    await writeAtomically(caKeyPath, ca.privateKey, 0o600);
    await writeAtomically(caCertPath, ca.certificate, 0o644);
    report.push(existing ? 'CA: near its expiry, replaced' : 'CA: created');
  }

  for (const name of options.services) {
    const dnsNames = [...(options.nodeNames?.[name] ?? []), ...(options.extraDnsNames ?? [])];
    const dir = join(options.certsDir, name);
    const certPath = join(dir, 'cert.pem');
    const keyPath = join(dir, 'key.pem');
    const [certificate, privateKey] = await Promise.all([
      readIfPresent(certPath),
      readIfPresent(keyPath),
    ]);
    const reason =
      certificate === undefined || privateKey === undefined
        ? 'no certificate yet'
        : reasonToReissue(
            { certificate, privateKey },
            {
              caCertificate: ca.certificate,
              names: [name, ...dnsNames],
              renewWithinMs,
              now: options.now,
            },
          );
    // The CA first: a peer reloading meanwhile then already trusts what it is about to see.
    if ((await readIfPresent(join(dir, 'ca.pem'))) !== ca.certificate)
      await writeAtomically(join(dir, 'ca.pem'), ca.certificate, 0o644);
    if (reason === undefined) {
      report.push(`${name}: valid, kept`);
      continue;
    }
    const issued = await issueServiceCertificate(ca, {
      name,
      dnsNames,
      validDays: options.serviceValidDays ?? 90,
    });
    // Two renames are not one: a reader may see the new key with the old certificate for a
    // moment. The services' reloader checks that the pair matches before using it.
    const keyMode = options.readableKeys?.includes(name) ? 0o644 : 0o600;
    await writeAtomically(keyPath, issued.privateKey, keyMode);
    await writeAtomically(certPath, issued.certificate, 0o644);
    report.push(`${name}: issued (${reason})`);
  }
  return report;
}

async function readCa(
  certPath: string,
  keyPath: string,
): Promise<CertificateAuthority | undefined> {
  const [certificate, privateKey] = await Promise.all([
    readIfPresent(certPath),
    readIfPresent(keyPath),
  ]);
  if (certificate === undefined || privateKey === undefined) return undefined;
  return { certificate, privateKey };
}
