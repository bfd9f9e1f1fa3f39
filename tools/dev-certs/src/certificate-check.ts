import { X509Certificate, createPrivateKey } from 'node:crypto';

/**
 * Why a service's files cannot be kept, or undefined when they can: issued by this CA, for
 * every one of these names, matching their key, and valid for longer than the renewal margin.
 */
export function reasonToReissue(
  files: { certificate: string; privateKey: string },
  expected: { caCertificate: string; names: string[]; renewWithinMs: number; now?: Date },
): string | undefined {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(files.certificate);
  } catch {
    return 'the certificate cannot be parsed';
  }
  const ca = new X509Certificate(expected.caCertificate);
  if (!certificate.checkIssued(ca) || !certificate.verify(ca.publicKey))
    return 'the certificate was not issued by the current CA';
  const held = certificate.subjectAltName?.split(', ') ?? [];
  const missing = expected.names.find((name) => !held.includes(`DNS:${name}`));
  if (missing !== undefined) return `the certificate is not for ${missing}`;
  try {
    if (!certificate.checkPrivateKey(createPrivateKey(files.privateKey)))
      return 'the key does not match the certificate';
  } catch {
    return 'the key cannot be parsed';
  }
  const msLeft = Date.parse(certificate.validTo) - (expected.now ?? new Date()).getTime();
  if (msLeft <= expected.renewWithinMs)
    return `the certificate expires on ${new Date(certificate.validTo).toISOString()}`;
  return undefined;
}

/** Milliseconds until a PEM certificate expires (negative once it has). */
export function msUntilExpiry(certificatePem: string, now = new Date()): number {
  return Date.parse(new X509Certificate(certificatePem).validTo) - now.getTime();
}
