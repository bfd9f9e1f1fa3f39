import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, composeProject, type ComposeProject } from '@switchboard/testing';
import { withCleanup } from '../cleanup.js';
import type { Demo } from '../demos.js';
import { say, sleep } from '../narrate.js';
import { formatTable } from '../table.js';

// The socket audit (tools/socket-audit, ADR 16) against the running system: each service says
// at GET /sockets what it declares beside what its /proc holds, and the audit checks them all.
// First it passes. Then inventory's own process opens a listener nothing declares: Node's
// debugger, which any Node process opens on 127.0.0.1:9229 when it receives SIGUSR1, a
// production incident waiting to happen (whoever reaches it runs code in the service). The
// audit names it and exits 1. The debugger is closed again, and the audit passes.

const run = promisify(execFile);
const AUDIT = join(REPO_ROOT, 'tools', 'socket-audit', 'dist', 'main.js');
const INSPECTOR_PORT = 9229;

interface Audit {
  exitCode: number;
  output: string;
}

async function runAudit(project: string): Promise<Audit> {
  return run(process.execPath, [AUDIT, '--project', project]).then(
    ({ stdout }) => ({ exitCode: 0, output: stdout }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      exitCode: error.code,
      output: `${error.stdout}${error.stderr}`,
    }),
  );
}

/** The audit again and again until `done` says it shows what the step expects. */
async function auditUntil(project: string, done: (audit: Audit) => boolean): Promise<Audit> {
  for (let attempt = 1; ; attempt++) {
    const audit = await runAudit(project);
    if (done(audit) || attempt === 15) return audit;
    await sleep(1_000);
  }
}

const findingLines = (audit: Audit) =>
  audit.output.split('\n').filter((line) => line.includes('FINDING'));

/** inventory's Node process: the one child of the container's init (tini, `init: true`). */
async function inventoryNodePid(project: ComposeProject): Promise<number> {
  const init = await project.pidOf('inventory');
  const children = await readFile(`/proc/${init}/task/${init}/children`, 'utf8');
  const [pid] = children.trim().split(/\s+/).map(Number);
  if (!pid) throw new Error(`inventory's init (pid ${init}) has no child process`);
  return pid;
}

/**
 * Closes the debugger from inside the container, through the debugger itself: a script in
 * inventory's network namespace asks it to run `inspector.close()` once this session is gone.
 */
const CLOSE_INSPECTOR = `
const [target] = await (await fetch('http://127.0.0.1:${INSPECTOR_PORT}/json/list')).json();
const socket = new WebSocket(target.webSocketDebuggerUrl);
socket.onopen = () => socket.send(JSON.stringify({ id: 1, method: 'Runtime.evaluate', params: {
  expression: "setTimeout(() => process.getBuiltinModule('node:inspector').close(), 200); 'closing'" } }));
socket.onmessage = (message) => { console.log(message.data); socket.close(); };
`;

export const auditDemo: Demo = {
  summary: 'the socket audit passing on the running system, then catching an undeclared listener',
  run: () =>
    withCleanup(async (stack) => {
      const name = `switchboard-demo-audit-${randomUUID().slice(0, 8)}`;
      // Purchase's public port on a free host port, so a system already up is left alone.
      const project = composeProject(name, { PURCHASE_PUBLIC_PORT: '0' });
      stack.defer(() => project.down());
      say(
        `Building and starting docker-compose.yml as the project ${name} (purchase and what it needs; the first build takes minutes)...`,
      );
      await project.up(['purchase']);
      const rows: string[][] = [];

      say('\n1. The audit against the running system:');
      const clean = await runAudit(name);
      say(clean.output);
      rows.push([
        'running system',
        String(clean.exitCode),
        String(findingLines(clean).length),
        '-',
      ]);

      const pid = await inventoryNodePid(project);
      say(
        `2. SIGUSR1 to inventory's Node process (host pid ${pid}): Node opens its debugger on 127.0.0.1:${INSPECTOR_PORT}, a listener nothing declares. The audit again:`,
      );
      process.kill(pid, 'SIGUSR1');
      const caught = await auditUntil(name, (audit) => audit.exitCode === 1);
      for (const line of findingLines(caught)) say(`   ${line.trim()}`);
      say(`   exit code ${caught.exitCode}`);
      rows.push([
        'debugger opened in inventory',
        String(caught.exitCode),
        String(findingLines(caught).length),
        findingLines(caught)
          .map((line) => line.trim().replace(/\s+/g, ' '))
          .join('; '),
      ]);

      say('\n3. Closing the debugger from inside the container, and the audit again:');
      const { stdout } = await run('docker', [
        'exec',
        await project.containerId('inventory'),
        'node',
        '--input-type=module',
        '-e',
        CLOSE_INSPECTOR,
      ]);
      say(`   the debugger answered ${stdout.trim()}`);
      const cleanAgain = await auditUntil(name, (audit) => audit.exitCode === 0);
      say(`   ${findingLines(cleanAgain).length} findings, exit code ${cleanAgain.exitCode}`);
      rows.push([
        'debugger closed',
        String(cleanAgain.exitCode),
        String(findingLines(cleanAgain).length),
        '-',
      ]);

      say('');
      say(formatTable(['step', 'audit exit code', 'findings', 'finding'], rows));
      if (caught.exitCode !== 1 || cleanAgain.exitCode !== 0 || clean.exitCode !== 0) {
        throw new Error('the audit did not pass, fail and pass again as expected');
      }
    }),
};
