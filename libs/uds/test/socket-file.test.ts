import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  MAX_SOCKET_PATH_BYTES,
  prepareSocketPath,
  removeSocketFile,
  secureSocketFile,
  socketPathProblem,
} from '../src/index.js';

let dir: string;
const servers: Server[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'uds-'));
});
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

function listen(path: string): Promise<Server> {
  // Probes hang up at once; their resets are expected, not errors of the test.
  const server = createServer((socket) => socket.on('error', () => {}).end('hello'));
  servers.push(server);
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}

/** Leaves a socket file behind as a crash does: a process binds it and dies by SIGKILL. */
function leaveStaleSocket(path: string): void {
  const script = `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
  spawnSync(process.execPath, ['-e', script]);
}

describe('socket path checks', () => {
  it('accepts 107 bytes and refuses 108, naming the path and the limit', () => {
    const fits = '/' + 'a'.repeat(MAX_SOCKET_PATH_BYTES - 1);
    expect(socketPathProblem(fits)).toBeUndefined();
    expect(socketPathProblem(fits + 'a')).toBe(
      `socket path ${fits}a is 108 bytes; Linux allows at most 107`,
    );
  });

  it('counts bytes, not characters', () => {
    const path = '/' + 'é'.repeat(60); // 121 bytes in UTF-8, 61 characters
    expect(socketPathProblem(path)).toContain('121 bytes');
  });

  it('refuses a relative path', async () => {
    await expect(prepareSocketPath('run/inventory.sock')).rejects.toThrow('must be absolute');
  });
});

describe('prepareSocketPath', () => {
  it('creates the directory with its mode', async () => {
    const path = join(dir, 'run/switchboard/inventory.sock');
    await prepareSocketPath(path, { directoryMode: 0o750 });
    expect(statSync(join(dir, 'run/switchboard')).mode & 0o777).toBe(0o750);
  });

  it('removes a socket file left by a process that crashed, so the next bind succeeds', async () => {
    const path = join(dir, 'inventory.sock');
    leaveStaleSocket(path);
    expect(statSync(path).isSocket()).toBe(true);
    const warnings: object[] = [];
    await prepareSocketPath(path, { logger: { warn: (object) => warnings.push(object) } });
    expect(existsSync(path)).toBe(false);
    expect(warnings).toEqual([{ path }]);
    await listen(path);
  });

  it('never removes a socket a live process serves, and fails naming the path', async () => {
    const path = join(dir, 'inventory.sock');
    await listen(path);
    await expect(prepareSocketPath(path)).rejects.toThrow(`another process is serving ${path}`);
    // The live server still answers on its socket.
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(path);
      socket.once('data', (data) => resolve(data.toString()));
    });
    expect(reply).toBe('hello');
  });

  it('leaves a file that is not a socket alone and says so', async () => {
    const path = join(dir, 'inventory.sock');
    writeFileSync(path, 'not a socket');
    await expect(prepareSocketPath(path)).rejects.toThrow('exists and is not a socket');
    expect(existsSync(path)).toBe(true);
  });
});

describe('secureSocketFile and removeSocketFile', () => {
  it('sets the socket mode after binding and removes the file on shutdown', async () => {
    const path = join(dir, 'inventory.sock');
    await prepareSocketPath(path);
    const server = await listen(path);
    await secureSocketFile(path, { socketMode: 0o660 });
    expect(statSync(path).mode & 0o777).toBe(0o660);
    await new Promise((resolve) => server.close(resolve));
    servers.splice(servers.indexOf(server), 1);
    await removeSocketFile(path);
    expect(existsSync(path)).toBe(false);
    await removeSocketFile(path); // already gone: not an error
  });
});
