import { Gauge, type Registry } from 'prom-client';
import type { CertificateReloader } from './certificate-reloader.js';

const NAME = 'tls_certificate_expiry_seconds';

/** The reloaders each registry reports on. */
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
  let reloaders = tracked.get(registry);
  if (!reloaders) {
    const set = new Set<CertificateReloader>();
    reloaders = set;
    tracked.set(registry, set);
    if (!registry.getSingleMetric(NAME))
      new Gauge({
        name: NAME,
        help: "Seconds until a TLS certificate in use expires: the CA's and this process's own (identity).",
        labelNames: ['certificate', 'file'] as const,
        registers: [registry],
        collect() {
          this.reset();
          for (const each of set)
            for (const { certificate, file, notAfter } of each.loaded())
              this.set({ certificate, file }, (notAfter.getTime() - Date.now()) / 1000);
        },
      });
  }
  reloaders.add(reloader);
  const set = reloaders;
  return { untrack: () => set.delete(reloader) };
}
