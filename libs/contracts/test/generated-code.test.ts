import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Item, ReserveRequest } from '../src/index.js';

const packageDir = join(import.meta.dirname, '..');
const committedDir = join(packageDir, 'src/gen');

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

describe('generated code', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'contracts-gen-'));
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('is what buf generate writes from the protos today (no drift)', () => {
    execFileSync('npx', ['buf', 'generate', '--output', outDir], { cwd: packageDir });
    const freshDir = join(outDir, 'src/gen');
    expect(listFiles(freshDir)).toEqual(listFiles(committedDir));
    for (const file of listFiles(committedDir)) {
      expect(readFileSync(join(freshDir, file), 'utf8'), file).toBe(
        readFileSync(join(committedDir, file), 'utf8'),
      );
    }
  });

  it('round-trips a ReserveRequest through the protobuf wire format', () => {
    const request: ReserveRequest = {
      orderId: 'order-1',
      items: [Item.fromPartial({ sku: 'sku-1', quantity: 2 })],
      ttlSeconds: 60,
    };
    const bytes = ReserveRequest.encode(request).finish();
    expect(ReserveRequest.decode(bytes)).toEqual(request);
  });
});
