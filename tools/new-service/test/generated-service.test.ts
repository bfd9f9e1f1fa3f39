/**
 * The generator end to end: run in a copy of this repository (its tracked and new files, its
 * node_modules linked, its libs compiled), then the new service's build, lint, typecheck and
 * tests, the contracts' (buf lint, buf breaking, the drift test of the generated code), and
 * `kubectl kustomize` of both overlays.
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT, kubectlAvailable } from '@switchboard/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MAIN = join(REPO_ROOT, 'tools/new-service/dist/main.js');
const NAME = 'order-history';

let copy: string;

/** Runs a command in the copy; on a failure the error carries its whole output. */
function inCopy(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, {
      cwd: copy,
      encoding: 'utf8',
      stdio: 'pipe',
      env: { ...process.env, NO_COLOR: '1' },
    });
  } catch (error) {
    const { status, stdout, stderr } = error as { status: number; stdout: string; stderr: string };
    throw Object.assign(
      new Error(`${command} ${args.join(' ')} exited ${status}:\n${stdout}\n${stderr}`),
      {
        status,
        stderr,
      },
    );
  }
}

/**
 * The repository's files as git sees them (tracked and new, not ignored): what a clone with
 * the work in progress has, without node_modules, dist or caches.
 */
function copyRepository(to: string): void {
  const files = execFileSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    { cwd: REPO_ROOT, encoding: 'utf8' },
  )
    .split('\0')
    .filter((file) => file !== '' && existsSync(join(REPO_ROOT, file)));
  for (const file of files) {
    mkdirSync(dirname(join(to, file)), { recursive: true });
    cpSync(join(REPO_ROOT, file), join(to, file));
  }
}

/**
 * node_modules for the copy without installing: each installed package a link to the
 * repository's, and each workspace package (@switchboard/*) a link to the copy's own folder,
 * the new service's included, as `npm install` would make it.
 */
function linkNodeModules(to: string): void {
  const modules = join(to, 'node_modules');
  mkdirSync(join(modules, '@switchboard'), { recursive: true });
  for (const entry of readdirSync(join(REPO_ROOT, 'node_modules'))) {
    if (entry === '@switchboard' || entry === '.package-lock.json') continue;
    symlinkSync(join(REPO_ROOT, 'node_modules', entry), join(modules, entry));
  }
  for (const group of ['libs', 'services', 'tools', 'tests']) {
    for (const folder of readdirSync(join(to, group))) {
      const manifest = join(to, group, folder, 'package.json');
      if (!existsSync(manifest)) continue;
      const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name: string };
      symlinkSync(join('..', '..', group, folder), join(modules, name));
    }
  }
}

/**
 * The compiled libs and tools of this checkout (turbo.json builds them before this test), so
 * the copy compiles only what the generator changed: the contracts and the new service.
 */
function copyCompiledPackages(to: string): void {
  for (const group of ['libs', 'tools']) {
    for (const folder of readdirSync(join(REPO_ROOT, group))) {
      const dist = join(REPO_ROOT, group, folder, 'dist');
      if (existsSync(dist)) cpSync(dist, join(to, group, folder, 'dist'), { recursive: true });
    }
  }
}

/** Compose v2 where `docker compose` works, else v1's `docker-compose` (as tests/e2e does). */
function composeCommand(): [string, ...string[]] {
  try {
    execFileSync('docker', ['compose', 'version'], { stdio: 'ignore' });
    return ['docker', 'compose'];
  } catch {
    return ['docker-compose'];
  }
}

beforeAll(() => {
  copy = mkdtempSync(join(tmpdir(), 'new-service-'));
  copyRepository(copy);
  // A repository of its own, its one commit the repository before the generator: what git
  // status lists is what the generator wrote, and buf breaking compares the protos with it.
  inCopy('git', ['init', '--quiet', '--initial-branch=main']);
  inCopy('git', ['add', '--all']);
  inCopy('git', [
    ...['-c', 'user.name=test', '-c', 'user.email=test@example.com'],
    ...['commit', '--quiet', '-m', 'the repository'],
  ]);
  linkNodeModules(copy);
  copyCompiledPackages(copy);

  inCopy('node', [MAIN, NAME, '--skip-install']);
  // The link `npm install` makes for the new workspace.
  symlinkSync(join('..', '..', 'services', NAME), join(copy, 'node_modules/@switchboard', NAME));
});

afterAll(() => {
  if (copy) rmSync(copy, { recursive: true, force: true });
});

describe(`npm run new-service -- ${NAME}`, () => {
  it('adds the compose service with its certificate, and the Prometheus job', () => {
    const compose = readFileSync(join(copy, 'docker-compose.yml'), 'utf8');
    expect(compose).toContain(`  ${NAME}:\n    <<: *node-service`);
    expect(compose).toMatch(new RegExp(`DEV_CERTS_SERVICES: .*,${NAME}\\n`));
    expect(compose).toContain(`- ${NAME}-secrets:/certs/${NAME}`);
    expect(compose).toMatch(new RegExp(`\\n  ${NAME}-secrets:\\n`));
    const prometheus = readFileSync(join(copy, 'deploy/prometheus/prometheus.yml'), 'utf8');
    expect(prometheus).toContain(`- job_name: ${NAME}\n`);
  });

  it('leaves docker-compose.yml valid, with the new service in it', () => {
    const [command, ...args] = composeCommand();

    inCopy(command, [...args, 'config', '--quiet']);
    expect(inCopy(command, [...args, 'config', '--services']).split('\n')).toContain(NAME);
  });

  it.runIf(kubectlAvailable())(
    'renders both Kubernetes overlays with the new Deployment and its image',
    () => {
      for (const [overlay, image] of [
        ['development', `switchboard/${NAME}:dev`],
        ['production', `registry.example.com/switchboard/${NAME}:1.0.0`],
      ] as const) {
        const rendered = inCopy('kubectl', ['kustomize', `deploy/kubernetes/overlays/${overlay}`]);
        expect(rendered).toContain(
          `kind: Deployment\nmetadata:\n  labels:\n    app.kubernetes.io/name: ${NAME}`,
        );
        expect(rendered).toContain(`image: ${image}\n`);
      }
    },
  );

  it('leaves every file it writes or changes formatted', () => {
    const written = inCopy('git', ['ls-files', '--modified', '--others', '--exclude-standard']);
    inCopy('npx', ['prettier', '--check', '--ignore-unknown', ...written.trim().split('\n')]);
  });

  it('refuses a name that is taken, changing nothing', () => {
    const before = inCopy('git', ['status', '--porcelain']);
    let failure: { status?: number; stderr?: string } = {};
    try {
      inCopy('node', [MAIN, 'inventory', '--skip-install']);
    } catch (error) {
      failure = error as typeof failure;
    }
    expect(failure.status).toBe(2);
    expect(failure.stderr).toContain('services/inventory exists already');
    expect(inCopy('git', ['status', '--porcelain'])).toBe(before);
  });

  it("passes the contracts' build, lint (buf lint, buf breaking) and drift test", () => {
    for (const script of ['build', 'lint', 'typecheck', 'test']) {
      inCopy('npm', ['run', script, '--workspace=@switchboard/contracts']);
    }
  });

  it("passes the new service's build, lint, typecheck and tests", () => {
    for (const script of ['build', 'lint', 'typecheck']) {
      inCopy('npm', ['run', script, `--workspace=@switchboard/${NAME}`]);
    }

    const tests = inCopy('npm', ['test', `--workspace=@switchboard/${NAME}`]);

    const [, passed, total] = /Tests\s+(\d+) passed \((\d+)\)/.exec(tests) ?? [];
    expect(Number(passed)).toBeGreaterThan(0);
    expect(passed).toBe(total);
  });
});
