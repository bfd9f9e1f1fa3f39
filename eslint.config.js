// One ESLint config for the whole monorepo: typed typescript-eslint rules, Prettier owns format.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

// Import boundaries, checked by no-restricted-imports. That rule takes one set of options per
// file (a later block replaces an earlier one), so each block below lists every boundary that
// holds for its files.

// Packages never reach into another package's src/: they import its public entry.
const packageInternals = {
  group: ['@switchboard/*/src/*', '**/services/*/src/**', '../../libs/*'],
  message: "Import the package's public entry (its name), not its files.",
};

// Each service, by folder and package name: a new folder under services/ is covered at once.
const servicesDir = join(import.meta.dirname, 'services');
const services = readdirSync(servicesDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map(({ name: folder }) => ({
    folder,
    name: JSON.parse(readFileSync(join(servicesDir, folder, 'package.json'), 'utf8')).name,
  }));

// Services never import services, by package name or by a relative path: they talk over the
// wire, through libs/contracts.
function otherServices(service) {
  return {
    group: services
      .filter((other) => other !== service)
      .flatMap((other) => [other.name, `${other.name}/*`, `**/${other.folder}/**`]),
    message: 'Services never import other services: they talk over the wire (libs/contracts).',
  };
}

// A domain (services/*/src/domain) holds the rules, not the I/O: no transport, server,
// database, metrics or logging library, Node's or ours. Adapters and entry-points do the I/O.
const domainTransports = [
  {
    regex: '^(node:)?(net|tls|http|https|http2|dgram|dns|fs|child_process|worker_threads)(/.*)?$',
    message: "A domain does no I/O: Node's network, file and process modules belong to adapters.",
  },
  {
    group: [
      '@grpc/*',
      'grpc-health-check',
      '@nats-io/*',
      'fastify',
      'fastify-*',
      '@fastify/*',
      'undici',
      'pg',
      'pg-*',
      'node-pg-migrate',
      'prom-client',
      'pino',
      'pino-*',
      'opossum',
      '@opentelemetry/*',
    ],
    message: 'A domain imports no transport or framework: adapters and entry-points do.',
  },
  {
    // Our libs that wrap transports, the database, metrics and logs, or the process. A domain
    // may use @switchboard/errors and @switchboard/text (plain values and rules).
    group: [
      '@switchboard/admission',
      '@switchboard/bus',
      '@switchboard/config',
      '@switchboard/events',
      '@switchboard/grpc',
      '@switchboard/lifecycle',
      '@switchboard/observability',
      '@switchboard/outbox',
      '@switchboard/postgres',
      '@switchboard/resilience',
      '@switchboard/telemetry',
      '@switchboard/testing',
      '@switchboard/uds',
    ],
    message: 'A domain imports none of our transport libs: it declares a port, app.ts wires it.',
  },
];
// Packages a domain may name for their types only, which compile away: the contract's messages
// and shared words, and the transport-neutral InventoryClient (ADR 9). Their values are the
// wire code and the gRPC and NATS adapters, which only adapters, entry-points and app.ts use.
const domainTypesOnly = ['@switchboard/contracts', '@switchboard/inventory-client'].map((name) => ({
  name,
  allowTypeImports: true,
  message: `A domain imports only the types of ${name}: its values are wire code and transports.`,
}));

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/src/gen/**', '**/.turbo/**', '**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      'no-restricted-imports': ['error', { patterns: [packageInternals] }],
    },
  },
  ...services.flatMap((service) => [
    {
      files: [`services/${service.folder}/**/*.ts`],
      rules: {
        'no-restricted-imports': [
          'error',
          { patterns: [packageInternals, otherServices(service)] },
        ],
      },
    },
    {
      files: [`services/${service.folder}/src/domain/**/*.ts`],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            paths: domainTypesOnly,
            patterns: [packageInternals, otherServices(service), ...domainTransports],
          },
        ],
      },
    },
  ]),
  {
    files: ['**/test/**/*.ts', '**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  prettier,
);
