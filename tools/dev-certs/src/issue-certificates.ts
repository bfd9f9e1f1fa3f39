// @peculiar/x509 needs the Reflect metadata API (its README); imported before it, once.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// @peculiar/x509 signs with WebCrypto, and finds Node's own (globalThis.crypto) by itself.

/** ECDSA P-256: small keys, fast handshakes, and accepted by every TLS stack gRPC uses. */
const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A certificate and its private key, both PEM. */
export interface CertificateFiles {
  certificate: string;
  privateKey: string;
}

/** When a certificate starts and stops being valid; by default from now for validDays. */
export interface Validity {
  notBefore?: Date;
  notAfter?: Date;
  validDays?: number;
}

/** A CA that can sign: its certificate and key, PEM. */
export type CertificateAuthority = CertificateFiles;

/** Makes a self-signed CA that may sign service certificates (and no further CAs). */
export async function createCertificateAuthority(
  options: { commonName: string } & Validity,
): Promise<CertificateAuthority> {
  const keys = await newKeyPair();
  const { notBefore, notAfter } = validityOf(options, 3650);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${options.commonName}`,
    keys,
    notBefore,
    notAfter,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificate: certificate.toString('pem'), privateKey: await privateKeyPem(keys) };
}

/**
 * Issues a certificate for one service, signed by the CA. The service's name is its identity:
 * it is the certificate's common name and its DNS subject alternative name, which is what a
 * client checks. It serves as a server and as a client certificate (mTLS: both sides show one).
 */
export async function issueServiceCertificate(
  ca: CertificateAuthority,
  options: { name: string; dnsNames?: string[]; ipAddresses?: string[] } & Validity,
): Promise<CertificateFiles> {
  const keys = await newKeyPair();
  const caCertificate = new x509.X509Certificate(ca.certificate);
  const caKey = await importPrivateKey(ca.privateKey);
  const { notBefore, notAfter } = validityOf(options, 90);
  const names = [options.name, ...(options.dnsNames ?? [])].map((value) => ({
    type: 'dns' as const,
    value,
  }));
  const addresses = (options.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value }));
  const certificate = await x509.X509CertificateGenerator.create({
    subject: `CN=${options.name}`,
    issuer: caCertificate.subject,
    publicKey: keys.publicKey,
    signingKey: caKey,
    notBefore,
    notAfter,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(
        [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
        false,
      ),
      new x509.SubjectAlternativeNameExtension([...names, ...addresses], false),
      await x509.AuthorityKeyIdentifierExtension.create(caCertificate, false),
    ],
  });
  return { certificate: certificate.toString('pem'), privateKey: await privateKeyPem(keys) };
}

function validityOf(validity: Validity, defaultDays: number): { notBefore: Date; notAfter: Date } {
  // A minute in the past: a peer whose clock is a little behind still accepts a fresh one.
  const notBefore = validity.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter =
    validity.notAfter ?? new Date(Date.now() + (validity.validDays ?? defaultDays) * DAY_MS);
  return { notBefore, notAfter };
}

async function newKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
}

async function privateKeyPem(keys: webcrypto.CryptoKeyPair): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
}

async function importPrivateKey(pem: string): Promise<webcrypto.CryptoKey> {
  const [der] = x509.PemConverter.decode(pem);
  if (!der) throw new Error('the CA private key file holds no PEM block');
  return await webcrypto.subtle.importKey('pkcs8', der, KEY_ALGORITHM, false, ['sign']);
}
