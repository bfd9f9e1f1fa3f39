import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The built command (turbo builds it before the tests), as `npm run audit:sockets` runs it.
const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const run = (...args: string[]) =>
  spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });

describe('socket-audit, the command', () => {
  it('exits 2 with one line naming a project that has no running container', () => {
    const result = run('--project', 'socket-audit-test-no-such-project');
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      'socket-audit: no running container of the compose project "socket-audit-test-no-such-project"\n',
    );
  });

  it('exits 2 on an unknown flag, without a stack trace', () => {
    const result = run('--bogus');
    expect(result.status).toBe(2);
    expect(result.stderr).toBe("socket-audit: Unknown option '--bogus'\n");
  });
});
