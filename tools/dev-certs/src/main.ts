#!/usr/bin/env node
/**
 * The one-shot start of the compose system's certificates (docker-compose.yml, service
 * "dev-certs"): makes the development CA and a certificate per service on the first start,
 * renews what nears its expiry, and otherwise changes nothing. Exit 0 done, 1 failed, so
 * the services, which wait for its successful end, do not start without certificates.
 *
 * A composition root: the only file here that reads the environment or exits.
 */
import { integer, loadConfig, string } from '@switchboard/config';
import { readConfigOrExit } from '@switchboard/lifecycle';
import { ensureDevCertificates } from './ensure-dev-certificates.js';
import { ensureDevPasswords } from './ensure-dev-passwords.js';

const spec = {
  caDir: string('DEV_CA_DIR', {
    default: '/ca',
    description: "The CA's certificate and key; a volume no service mounts.",
  }),
  certsDir: string('DEV_CERTS_DIR', {
    default: '/certs',
    description: 'Gets <name>/{ca.pem,cert.pem,key.pem} for each service.',
  }),
  services: string('DEV_CERTS_SERVICES', {
    default: 'inventory,purchase',
    description:
      'Comma-separated service names; each is its certificate identity (DNS SAN). "nats+nats-1+nats-2" adds the names of its nodes.',
  }),
  readableKeys: string('DEV_CERTS_READABLE_KEYS', {
    default: '',
    description:
      'Comma-separated services whose key is written 0644: a server running as another user, alone on its volume.',
  }),
  serviceValidDays: integer('DEV_CERTS_VALID_DAYS', {
    default: 90,
    min: 1,
    max: 825,
    description: 'Validity of a service certificate.',
  }),
  renewWithinDays: integer('DEV_CERTS_RENEW_WITHIN_DAYS', {
    default: 30,
    min: 0,
    max: 824,
    description: 'A service certificate with fewer days left is renewed.',
  }),
  passwordsDir: string('DEV_PASSWORDS_DIR', {
    default: '/passwords',
    description: 'Gets <role> for each database role: only Postgres mounts it.',
  }),
  passwordsSuperuser: string('DEV_PASSWORDS_SUPERUSER', {
    default: 'postgres',
    description: "The database superuser's role, whose password goes to Postgres only.",
  }),
  databaseRoles: string('DEV_DATABASE_ROLES', {
    default: 'inventory,purchase',
    description:
      'Comma-separated database roles, one per service; each also gets <certs>/<role>/db-password.',
  }),
};

const config = readConfigOrExit('dev-certs', () => loadConfig(process.env, spec));
try {
  // "nats+nats-1+nats-2+nats-3": the service nats, whose certificate also names its nodes.
  const entries = listOf(config.services).map((entry) => entry.split('+'));
  const report = await ensureDevCertificates({
    ...config,
    services: entries.map(([name]) => name!),
    nodeNames: Object.fromEntries(entries.map(([name, ...nodes]) => [name!, nodes])),
    readableKeys: listOf(config.readableKeys),
  });
  report.push(
    ...(await ensureDevPasswords({
      passwordsDir: config.passwordsDir,
      certsDir: config.certsDir,
      superuser: config.passwordsSuperuser,
      roles: listOf(config.databaseRoles),
    })),
  );
  for (const line of report) console.log(`dev-certs: ${line}`);
} catch (error) {
  console.error('dev-certs: failed:', error);
  process.exitCode = 1;
}

function listOf(commaSeparated: string): string[] {
  return commaSeparated
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
}
