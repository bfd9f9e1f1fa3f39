import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readIfPresent, writeAtomically } from './certificate-files.js';

export interface DevPasswordsOptions {
  /**
   * Gets one file per database role, <passwordsDir>/<role>: the volume only Postgres mounts,
   * which creates the roles from it on its first start.
   */
  passwordsDir: string;
  /** Gets <certsDir>/<role>/db-password for each service's role, beside its certificate. */
  certsDir: string;
  /** The superuser's role: its password goes to Postgres only, never to a service. */
  superuser: string;
  /** The services' roles; each service's database and role bear its name. */
  roles: readonly string[];
}

/**
 * Makes a random password per database role on the first start and keeps it afterwards:
 * Postgres set the role's password from this file when it first started, and a new one
 * would lock the service out. Nothing is committed, and no password is in any compose file.
 */
export async function ensureDevPasswords(options: DevPasswordsOptions): Promise<string[]> {
  const report: string[] = [];
  for (const role of [options.superuser, ...options.roles]) {
    const path = join(options.passwordsDir, role);
    let password = (await readIfPresent(path))?.trim();
    if (password) report.push(`password of ${role}: kept`);
    else {
      // 24 random bytes: 192 bits, in characters that need no quoting in a URL or a shell.
      password = randomBytes(24).toString('base64url');
      // 0644: Postgres, which runs as another user than this tool, reads it on its first start.
      await writeAtomically(path, `${password}\n`, 0o644);
      report.push(`password of ${role}: created`);
    }
    if (role === options.superuser) continue;
    const servicePath = join(options.certsDir, role, 'db-password');
    if ((await readIfPresent(servicePath))?.trim() !== password)
      await writeAtomically(servicePath, `${password}\n`, 0o600);
  }
  return report;
}
