#!/usr/bin/env node
// npm run audit:sockets [-- --project NAME] [--allow-list FILE]: audits the sockets of a
// running compose system; prints a table, exits 1 on any finding (2 when it cannot run).
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_ALLOW_LIST } from './allow-list.js';
import { formatTable } from './table.js';
import { runAudit } from './run-audit.js';

try {
  const { values } = parseArgs({
    options: {
      project: { type: 'string' },
      'allow-list': { type: 'string' },
    },
  });
  // As compose names a project: the flag, COMPOSE_PROJECT_NAME, or the directory's name.
  const project =
    values.project ??
    process.env.COMPOSE_PROJECT_NAME ??
    basename(process.cwd())
      .toLowerCase()
      .replace(/[^a-z0-9_-]/g, '');
  const rows = await runAudit({
    project,
    allowListFile: values['allow-list'] ?? DEFAULT_ALLOW_LIST,
  });
  const findings = rows.filter((row) => row.finding).length;
  process.stdout.write(
    `Socket audit of the compose project "${project}"\n\n${formatTable(rows)}\n\n`,
  );
  process.stdout.write(findings === 0 ? 'No findings.\n' : `${findings} finding(s).\n`);
  process.exitCode = findings === 0 ? 0 : 1;
} catch (error) {
  // A bad flag, no Docker, no such project, a malformed allow-list: said in one line.
  process.stderr.write(`socket-audit: ${(error as Error).message}\n`);
  process.exitCode = 2;
}
