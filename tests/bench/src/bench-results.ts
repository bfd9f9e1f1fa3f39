import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@switchboard/testing';

/**
 * Saves a bench's results as `bench-results/<name>-<time>.json` (gitignored), with when, the
 * Node version and the cores beside them; returns the file's path.
 */
export async function saveResults(name: string, results: object): Promise<string> {
  const directory = join(REPO_ROOT, 'bench-results');
  await mkdir(directory, { recursive: true });
  const at = new Date().toISOString();
  const file = join(directory, `${name}-${at.replace(/[:.]/g, '-')}.json`);
  const saved = { at, node: process.version, cpus: cpus().length, ...results };
  await writeFile(file, `${JSON.stringify(saved, null, 2)}\n`);
  return file;
}
