import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { experimental } from '@grpc/grpc-js';
import type { Logger } from 'pino';

/** The PEM files of one side of mTLS; paths come from the service's config. */
export interface TlsFiles {
  /** The CA (or CAs) whose certificates the peer must present. */
  caFile: string;
  /** This process's own certificate, shown to the peer. */
  certFile: string;
  /** Its private key. */
  keyFile: string;
  /** How often the files are read again, to pick up renewed certificates; default 5000 ms. */
  reloadIntervalMs?: number;
}

/** When each loaded certificate expires, for the expiry metric. */
export interface LoadedCertificate {
  certificate: 'ca' | 'identity';
  file: string;
  notAfter: Date;
}

/**
 * A grpc-js certificate provider that reads the files again every interval, so a renewed
 * certificate is used by the next connection without a restart (connections already open
 * keep the one they were made with).
 *
 * Why not grpc-js's FileWatcherCertificateProvider: it reads the certificate and the key as
 * two independent files and publishes whatever it read. A renewal replaces both, one rename
 * after the other, so a read between them gets a key that does not match its certificate, and
 * a failed read publishes "no certificate": either way the server drops every new connection
 * until the next read. This one publishes a pair only after checking that it matches, and
 * keeps the last good one (with a warning) otherwise.
 */
export interface CertificateReloader extends experimental.CertificateProvider {
  loaded(): LoadedCertificate[];
  /** Stops reading the files. */
  close(): void;
}

interface Snapshot {
  ca: Buffer;
  certificate: Buffer;
  privateKey: Buffer;
  loaded: LoadedCertificate[];
}

/**
 * Reads the files once at once (throwing, so a bad path or pair fails the start), then every
 * reloadIntervalMs while anything listens.
 */
export function createCertificateReloader(files: TlsFiles, logger?: Logger): CertificateReloader {
  const intervalMs = files.reloadIntervalMs ?? 5_000;
  let current = checked(files, {
    ca: readFileSync(files.caFile),
    certificate: readFileSync(files.certFile),
    privateKey: readFileSync(files.keyFile),
  });
  const caListeners = new Set<experimental.CaCertificateUpdateListener>();
  const identityListeners = new Set<experimental.IdentityCertificateUpdateListener>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  async function reload(): Promise<void> {
    let next: Snapshot;
    try {
      const [ca, certificate, privateKey] = await Promise.all([
        readFile(files.caFile),
        readFile(files.certFile),
        readFile(files.keyFile),
      ]);
      next = checked(files, { ca, certificate, privateKey });
    } catch (error) {
      logger?.warn({ err: error }, 'TLS files not reloaded; keeping the certificates in use');
      return;
    }
    if (closed) return;
    const caChanged = !next.ca.equals(current.ca);
    const identityChanged = !next.certificate.equals(current.certificate);
    if (!caChanged && !identityChanged && next.privateKey.equals(current.privateKey)) return;
    current = next;
    logger?.info({ loaded: next.loaded }, 'TLS certificates reloaded');
    if (caChanged) for (const listener of caListeners) listener({ caCertificate: current.ca });
    for (const listener of identityListeners)
      listener({ certificate: current.certificate, privateKey: current.privateKey });
  }

  function startOrStop(): void {
    const listening = caListeners.size + identityListeners.size > 0;
    if (listening && !timer && !closed) {
      timer = setInterval(() => void reload(), intervalMs);
      timer.unref(); // Reloading certificates alone keeps no process alive.
    } else if (!listening && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  }

  return {
    addCaCertificateListener(listener) {
      caListeners.add(listener);
      startOrStop();
      process.nextTick(listener, { caCertificate: current.ca });
    },
    removeCaCertificateListener(listener) {
      caListeners.delete(listener);
      startOrStop();
    },
    addIdentityCertificateListener(listener) {
      identityListeners.add(listener);
      startOrStop();
      process.nextTick(listener, {
        certificate: current.certificate,
        privateKey: current.privateKey,
      });
    },
    removeIdentityCertificateListener(listener) {
      identityListeners.delete(listener);
      startOrStop();
    },
    loaded: () => current.loaded,
    close() {
      closed = true;
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

/** The files' contents if they make a usable set; throws, naming the file, if not. */
function checked(files: TlsFiles, read: Omit<Snapshot, 'loaded'>): Snapshot {
  const cas = parseCertificates(read.ca, files.caFile);
  const [certificate] = parseCertificates(read.certificate, files.certFile);
  if (!certificate) throw new Error(`${files.certFile} holds no certificate`);
  let key;
  try {
    key = createPrivateKey(read.privateKey);
  } catch (error) {
    throw new Error(`${files.keyFile} holds no usable private key`, { cause: error });
  }
  if (!certificate.checkPrivateKey(key))
    throw new Error(`${files.keyFile} is not the key of the certificate in ${files.certFile}`);
  // A bundle of CAs (an old and a new one, during a change of CA) is as good as its first to go.
  const caExpiry = Math.min(...cas.map((ca) => Date.parse(ca.validTo)));
  return {
    ...read,
    loaded: [
      { certificate: 'ca', file: files.caFile, notAfter: new Date(caExpiry) },
      { certificate: 'identity', file: files.certFile, notAfter: new Date(certificate.validTo) },
    ],
  };
}

function parseCertificates(pem: Buffer, file: string): X509Certificate[] {
  const blocks = pem
    .toString('utf8')
    .match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) throw new Error(`${file} holds no PEM certificate`);
  try {
    return blocks.map((block) => new X509Certificate(block));
  } catch (error) {
    throw new Error(`${file} holds a certificate that cannot be parsed`, { cause: error });
  }
}
