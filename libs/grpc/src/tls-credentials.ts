import { experimental, type ChannelCredentials, type ServerCredentials } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createCertificateReloader, type TlsFiles } from './certificate-reloader.js';
import { trackCertificateExpiry } from './certificate-expiry-metric.js';

/** Credentials that follow their files; close() stops reading them and reporting on them. */
export interface TlsCredentials<C> {
  credentials: C;
  close(): void;
}

/** What a client needs for mTLS: its files, and the name the server must prove it holds. */
export interface ClientTlsOptions extends TlsFiles {
  /**
   * The DNS subject alternative name the server's certificate must hold, e.g. "inventory":
   * the service's identity, whatever address the target resolved to.
   */
  serverName: string;
}

/**
 * Server credentials that present this process's certificate and require a client
 * certificate signed by the CA: a client without one, with one from another CA, or with an
 * expired one is refused during the handshake, before any call.
 */
export function createServerTlsCredentials(
  files: TlsFiles,
  options: { registry: Registry; logger?: Logger },
): TlsCredentials<ServerCredentials> {
  const reloader = createCertificateReloader(files, options.logger);
  const metric = trackCertificateExpiry(options.registry, reloader);
  // The same provider for both roles. (grpc-js 1.14 passes these two arguments to its
  // constructor in the opposite order; with one provider the order cannot matter.)
  const credentials = experimental.createCertificateProviderServerCredentials(
    reloader,
    reloader,
    true,
  );
  return {
    credentials,
    close() {
      reloader.close();
      metric.untrack();
    },
  };
}

/**
 * Channel credentials that present this process's certificate, trust only the CA, and accept
 * the server only if its certificate names `serverName`.
 */
export function createClientTlsCredentials(
  tls: ClientTlsOptions,
  options: { registry: Registry; logger?: Logger },
): TlsCredentials<ChannelCredentials> {
  const reloader = createCertificateReloader(tls, options.logger);
  const metric = trackCertificateExpiry(options.registry, reloader);
  const credentials = experimental.createCertificateProviderChannelCredentials(reloader, reloader, {
    checkServerIdentity: (_host, certificate) => serverIdentityProblem(tls.serverName, certificate),
  });
  return {
    credentials,
    close() {
      reloader.close();
      metric.untrack();
    },
  };
}

/**
 * The server is who we expect when its certificate holds exactly that DNS name. The host we
 * dialled does not count: an address (10.0.3.7, a pod IP) proves nothing, a name does.
 */
export function serverIdentityProblem(
  expectedName: string,
  certificate: PeerCertificate,
): Error | undefined {
  const names = (certificate.subjectaltname ?? '').split(', ');
  if (names.includes(`DNS:${expectedName}`)) return undefined;
  return new Error(
    `the server's certificate is not for "${expectedName}" (it names ${certificate.subjectaltname ?? 'nothing'})`,
  );
}
