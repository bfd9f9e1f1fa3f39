import { Gauge, type Registry } from 'prom-client';
import type { CertificateReloader } from './certificate-reloader.js';

/** The reloaders each registry reports on: a server's and a client's may share one. */
const tracked = new WeakMap<Registry, Set<CertificateReloader>>();

/**
 * tls_certificate_expiry_seconds{certificate="ca"|"identity", file}: seconds until each
 * certificate in use expires, computed at each scrape (negative once it has). The alert
 * TlsCertificateExpiresSoon fires below 7 days.
 */
export function trackCertificateExpiry(
  registry: Registry,
  reloader: CertificateReloader,
): { untrack(): void } {
  const reloaders = reloadersOf(registry);
  reloaders.add(reloader);
  return { untrack: () => reloaders.delete(reloader) };
}

function reloadersOf(registry: Registry): Set<CertificateReloader> {
  const known = tracked.get(registry);
  if (known) return known;
  const reloaders = new Set<CertificateReloader>();
  tracked.set(registry, reloaders);
  new Gauge({
    name: 'tls_certificate_expiry_seconds',
    help: "Seconds until a TLS certificate in use expires: the CA's and this process's own (identity).",
    labelNames: ['certificate', 'file'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const reloader of reloaders)
        for (const { certificate, file, notAfter } of reloader.loaded())
          this.set({ certificate, file }, (notAfter.getTime() - Date.now()) / 1000);
    },
  });
  return reloaders;
}
