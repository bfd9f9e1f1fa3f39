import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { formatTable, quantile } from '../src/table.js';

describe('the summary table', () => {
  it('pads every column to its widest cell', () => {
    expect(formatTable(['a', 'bb'], [['ccc', 'd']])).toBe(
      ['| a   | bb |', '|-----|----|', '| ccc | d  |'].join('\n'),
    );
  });

  it('takes quantiles by nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(quantile(values, 0.5)).toBe(50);
    expect(quantile(values, 0.99)).toBe(99);
    expect(quantile(values, 1)).toBe(100);
    expect(quantile([], 0.5)).toBeUndefined();
  });
});

describe('npm run demo -- <name>', () => {
  it('lists the demos and exits 2 for a name it does not know', async () => {
    const main = new URL('../dist/main.js', import.meta.url).pathname;
    const result = await promisify(execFile)(process.execPath, [main, 'no-such-demo']).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect('code' in result ? result.code : 0).toBe(2);
    expect(result.stderr).toContain('No demo named "no-such-demo"');
    for (const demo of [
      'transports',
      'nats-down',
      'slowloris',
      'audit',
      'multiplexing',
      'leak',
      'udp',
    ]) {
      expect(result.stderr).toContain(`  ${demo} `);
    }
  });
});
