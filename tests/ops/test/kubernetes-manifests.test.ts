/**
 * The Kubernetes manifests of deploy/kubernetes, checked offline: against the API's JSON
 * schemas (kubernetes-models), against the hardening rules every container must meet, and
 * against what the services themselves say they listen on (their socket declarations).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT, kubectlAvailable } from '@switchboard/testing';
import { Deployment } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Service } from 'kubernetes-models/v1';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';

const KUBERNETES = join(REPO_ROOT, 'deploy/kubernetes');
const BASE_FILES = ['inventory.yaml', 'purchase.yaml', 'network-policies.yaml'];
const OVERLAYS = ['development', 'production'];

interface Container {
  name: string;
  ports: { name: string; containerPort: number }[];
  env: { name: string; value?: string }[];
  startupProbe?: unknown;
  livenessProbe?: unknown;
  readinessProbe?: unknown;
  resources?: { limits?: { memory?: string }; requests?: { cpu?: string } };
  securityContext?: {
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
}

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  /** A Deployment's; other kinds are only validated against their schema. */
  spec: {
    replicas?: number;
    template: {
      spec: { securityContext?: { runAsNonRoot?: boolean }; containers: Container[] };
    };
  };
}

interface NatsUser {
  user: string;
  permissions: {
    publish: { allow: string[] };
    subscribe: { allow: string[] };
    allow_responses?: boolean;
  };
}

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1 Deployment': Deployment,
  'v1 Service': Service,
  'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1 NetworkPolicy': NetworkPolicy,
};

const documents = (text: string): Manifest[] =>
  parseAllDocuments(text).map((document) => document.toJS() as Manifest);
const baseManifests = (): Manifest[] =>
  BASE_FILES.flatMap((file) => documents(readFileSync(join(KUBERNETES, 'base', file), 'utf8')));

const rendered = (overlay: string): Manifest[] =>
  documents(
    execFileSync('kubectl', ['kustomize', join(KUBERNETES, 'overlays', overlay)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  );

/** Schema errors of every object, or "no model" for a kind we did not expect. */
function schemaProblems(manifests: Manifest[]): string[] {
  return manifests.flatMap((manifest) => {
    const key = `${manifest.apiVersion} ${manifest.kind}`;
    const Model = MODELS[key];
    if (!Model) return [`${key} ${manifest.metadata.name}: no model for this kind`];
    try {
      new Model(manifest as never).validate();
      return [];
    } catch (error) {
      return [`${key} ${manifest.metadata.name}: ${(error as Error).message}`];
    }
  });
}

/** What every container of every Deployment must have, as findings. */
function hardeningProblems(manifests: Manifest[]): string[] {
  const findings: string[] = [];
  for (const deployment of manifests.filter((manifest) => manifest.kind === 'Deployment')) {
    const pod = deployment.spec.template.spec;
    if (pod.securityContext?.runAsNonRoot !== true)
      findings.push(`${deployment.metadata.name}: pod may run as root`);
    for (const container of pod.containers) {
      const where = `${deployment.metadata.name}/${container.name}`;
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const)
        if (!container[probe]) findings.push(`${where}: no ${probe}`);
      if (!container.resources?.limits?.memory) findings.push(`${where}: no memory limit`);
      if (!container.resources?.requests?.cpu) findings.push(`${where}: no CPU request`);
      const security = container.securityContext ?? {};
      if (security.readOnlyRootFilesystem !== true)
        findings.push(`${where}: writable root filesystem`);
      if (security.allowPrivilegeEscalation !== false)
        findings.push(`${where}: may escalate privileges`);
      if (!security.capabilities?.drop?.includes('ALL'))
        findings.push(`${where}: keeps capabilities`);
    }
  }
  return findings;
}

describe('the Kubernetes manifests (deploy/kubernetes)', () => {
  it('validate against the Kubernetes schemas, every object of the base', () => {
    const manifests = baseManifests();
    expect(manifests.map((manifest) => manifest.kind).sort()).toEqual([
      'Deployment',
      'Deployment',
      'NetworkPolicy',
      'NetworkPolicy',
      'NetworkPolicy',
      'NetworkPolicy',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'PodDisruptionBudget',
      'Service',
      'Service',
    ]);
    expect(schemaProblems(manifests)).toEqual([]);
  });

  it('every container has probes, limits, a non-root user, a read-only root and no capabilities', () => {
    expect(hardeningProblems(baseManifests())).toEqual([]);
  });

  it.runIf(kubectlAvailable())(
    'each overlay renders with kustomize, and its output validates and keeps the rules',
    () => {
      for (const overlay of OVERLAYS) {
        const manifests = rendered(overlay);
        expect(schemaProblems(manifests), overlay).toEqual([]);
        expect(hardeningProblems(manifests), overlay).toEqual([]);
      }
      const production = rendered('production');
      const replicas = Object.fromEntries(
        production
          .filter((manifest) => manifest.kind === 'Deployment')
          .map((manifest) => [manifest.metadata.name, manifest.spec.replicas]),
      );
      // A service added by npm run new-service keeps the base's one replica until it gets a patch.
      expect(replicas).toMatchObject({ inventory: 3, purchase: 2 });
    },
  );

  it("every container port is a listener of the service's own socket declaration, built from the container's environment", async () => {
    const findings: string[] = [];
    for (const deployment of baseManifests().filter((manifest) => manifest.kind === 'Deployment')) {
      const service = deployment.metadata.name as 'inventory' | 'purchase';
      const [container] = deployment.spec.template.spec.containers;
      if (!container) throw new Error(`${service}: no container`);
      // The environment as the pod gets it; a secret's value is a stand-in of the right form.
      const env: Record<string, string> = {};
      for (const variable of container.env)
        env[variable.name] =
          variable.value ?? 'postgres://role@database:5432/db?sslmode=verify-full';
      const { readConfig } = (await import(
        pathToFileURL(join(REPO_ROOT, `services/${service}/dist/config.js`)).href
      )) as { readConfig: (env: Record<string, string>) => Record<string, unknown> };
      const declarations = (await import(
        pathToFileURL(join(REPO_ROOT, `services/${service}/dist/socket-declaration.js`)).href
      )) as Record<
        string,
        (
          config: unknown,
          ports: Record<string, number>,
        ) => { listeners: { name: string; protocol: string; port?: number }[] }
      >;
      // The service's own config check accepts the manifest's environment.
      const config = readConfig(env) as Record<string, number>;
      const declare = declarations[`${service}SocketDeclaration`]!;
      const declaration = declare(config, {
        httpPort: config.httpPort!,
        grpcPort: config.grpcPort!,
        opsPort: config.opsPort!,
      });
      const declared = declaration.listeners
        .filter((listener) => listener.protocol === 'tcp')
        .map((listener) => listener.port);
      for (const port of container.ports)
        if (!declared.includes(port.containerPort))
          findings.push(`${service}: port ${port.name} ${port.containerPort} is not declared`);
    }
    expect(findings).toEqual([]);
  });

  it("NATS's chart values give the same users and permissions as compose's broker", () => {
    const values = parse(readFileSync(join(KUBERNETES, 'nats/values.yaml'), 'utf8')) as {
      config: { merge: { accounts: { SWITCHBOARD: { users: NatsUser[] } } } };
    };
    const fromValues = Object.fromEntries(
      values.config.merge.accounts.SWITCHBOARD.users.map((user) => [
        user.user,
        {
          publish: user.permissions.publish.allow,
          subscribe: user.permissions.subscribe.allow,
          responses: user.permissions.allow_responses === true,
        },
      ]),
    );
    // The users of deploy/nats/nats-server.conf, read from its text: each user's block lists
    // its publish and subscribe allow-lists as quoted subjects.
    const conf = readFileSync(join(REPO_ROOT, 'deploy/nats/nats-server.conf'), 'utf8');
    const subjects = (text: string) => [...text.matchAll(/"([^"]+)"/g)].map((match) => match[1]);
    const fromConf = Object.fromEntries(
      [...conf.matchAll(/user: ([\w-]+)\s*\n\s*permissions: \{([\s\S]*?)\n {6}\}/g)].map(
        ([, user, body]): [string, unknown] => [
          user!,
          {
            publish: subjects(/publish: \{\s*allow: \[([\s\S]*?)\]/.exec(body!)![1]!),
            subscribe: subjects(/subscribe: \{\s*allow: \[([\s\S]*?)\]/.exec(body!)![1]!),
            responses: body!.includes('allow_responses: true'),
          },
        ],
      ),
    );
    expect(Object.keys(fromConf).sort()).toEqual(['dead-letters', 'inventory', 'purchase']);
    expect(fromValues).toEqual(fromConf);
  });
});
