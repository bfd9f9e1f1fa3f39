#!/usr/bin/env node
/**
 * Adds a service to Switchboard, from the repository root:
 *
 *   npm run new-service -- <name> [--skip-install]
 *
 * Writes the service from the templates (src/generate.ts), regenerates the contracts' code
 * from the new proto, formats what it wrote, and runs `npm install` to link the new workspace
 * and record it in package-lock.json (--skip-install leaves that to you). A composition root:
 * the only file here that reads argv or exits. Exit codes: 0 done, 1 a step failed, 2 a usage
 * error (a bad name, not at the root, a service that exists).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { generateService } from './generate.js';
import { parseServiceName } from './service-name.js';

const USAGE = 'usage: npm run new-service -- <name> [--skip-install]   (e.g. shipping)';
const SKIP_INSTALL = '--skip-install';

async function main(args: string[]): Promise<number> {
  const positional = args.filter((arg) => arg !== SKIP_INSTALL);
  if (positional.length !== 1 || positional[0]!.startsWith('-')) {
    console.error(`new-service: one service name is needed\n${USAGE}`);
    return 2;
  }
  const names = parseServiceName(positional[0]!);
  if ('problem' in names) {
    console.error(`new-service: ${names.problem}`);
    return 2;
  }
  const root = process.cwd();
  if (!existsSync(join(root, 'docker-compose.yml')) || !existsSync(join(root, 'services'))) {
    console.error('new-service: run it from the root of the repository (npm run new-service)');
    return 2;
  }
  if (existsSync(join(root, 'services', names.name))) {
    console.error(`new-service: services/${names.name} exists already`);
    return 2;
  }

  const { created, changed } = await generateService(root, names);
  const run = (command: string, commandArgs: string[]) =>
    execFileSync(command, commandArgs, { cwd: root, stdio: 'inherit' });
  // The TypeScript of the new proto, generated and committed like the others' (ADR 2).
  run('npm', ['run', 'generate', '--silent', '--workspace=@switchboard/contracts']);
  // The templates are formatted already; a long name can push a line past the width.
  run('npx', [
    'prettier',
    '--write',
    '--ignore-unknown',
    '--log-level=warn',
    ...created,
    ...changed,
  ]);
  if (!args.includes(SKIP_INSTALL)) run('npm', ['install', '--no-audit', '--no-fund']);

  const list = (paths: string[]) => paths.map((path) => `  ${path}`).join('\n');
  console.log(`Created:\n${list(created)}\nChanged:\n${list(changed)}\n`);
  console.log(`Next (tools/new-service/README.md):
  npx turbo run build lint typecheck test --filter=@switchboard/${names.name}
  docker compose up --build ${names.name}
Then replace Echo with the service's own calls, and add the service to README.md's table.`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`new-service: ${error instanceof Error ? error.message : String(error)}`);
  return 1;
});
