import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '@switchboard/testing';

/** `npm run audit:sockets` against a compose project: its exit code and its table. */
export function runSocketAudit(project: string): Promise<{ exitCode: number; output: string }> {
  const main = join(REPO_ROOT, 'tools', 'socket-audit', 'dist', 'main.js');
  return new Promise((resolve) => {
    execFile(process.execPath, [main, '--project', project], (error, stdout, stderr) => {
      const exitCode = error ? (typeof error.code === 'number' ? error.code : 2) : 0;
      resolve({ exitCode, output: `${stdout}${stderr}` });
    });
  });
}
