import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureDevPasswords } from '../src/index.js';

describe('ensureDevPasswords', () => {
  let dir: string;
  const options = () => ({
    passwordsDir: join(dir, 'passwords'),
    certsDir: join(dir, 'certs'),
    superuser: 'postgres',
    roles: ['inventory', 'purchase'],
  });
  const read = async (...path: string[]) => (await readFile(join(dir, ...path), 'utf8')).trim();
  const modeOf = async (...path: string[]) => (await stat(join(dir, ...path))).mode & 0o777;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dev-passwords-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('makes a different random password per role, for Postgres and for each service only', async () => {
    await ensureDevPasswords(options());

    const passwords = await Promise.all(
      ['postgres', 'inventory', 'purchase'].map((role) => read('passwords', role)),
    );
    expect(new Set(passwords).size).toBe(3);
    for (const password of passwords) expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(await read('certs', 'inventory', 'db-password')).toBe(passwords[1]);
    expect(await read('certs', 'purchase', 'db-password')).toBe(passwords[2]);
    expect(await modeOf('certs', 'purchase', 'db-password')).toBe(0o600);
    // The superuser's password goes to no service.
    await expect(read('certs', 'postgres', 'db-password')).rejects.toThrow(/ENOENT/);
  });

  it('keeps the passwords on the next run, which Postgres set when it first started', async () => {
    await ensureDevPasswords(options());
    const before = await read('passwords', 'purchase');

    const report = await ensureDevPasswords(options());

    expect(await read('passwords', 'purchase')).toBe(before);
    expect(await read('certs', 'purchase', 'db-password')).toBe(before);
    expect(report).toContain('password of purchase: kept');
  });
});
