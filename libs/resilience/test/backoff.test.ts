import { describe, expect, it } from 'vitest';
import { backoff, longestBackoffMs } from '../src/index.js';

const policy = { initialMs: 100, maxMs: 1_000 };
const middle = () => 0.5;
const lowest = () => 0;
const highest = () => 0.999_999_999;

describe('backoff', () => {
  it('doubles from the initial pause and stops growing at the maximum', () => {
    const pauses = [1, 2, 3, 4, 5, 6].map((retry) => backoff(retry, policy, middle));
    expect(pauses).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('grows by the given multiplier', () => {
    const pauses = [1, 2, 3].map((retry) => backoff(retry, { ...policy, multiplier: 3 }, middle));
    expect(pauses).toEqual([100, 300, 900]);
  });

  it('moves each pause by up to ±20 % at random, by default', () => {
    expect(backoff(1, policy, lowest)).toBe(80);
    expect(backoff(1, policy, highest)).toBe(120);
    expect(backoff(9, policy, highest)).toBe(1_200);
    expect(backoff(2, { ...policy, jitter: 0 }, highest)).toBe(200);
  });

  it('spreads the pauses of clients that failed together', () => {
    const pauses = new Set(Array.from({ length: 50 }, () => backoff(3, policy)));
    expect(pauses.size).toBeGreaterThan(10);
    for (const pause of pauses) {
      expect(pause).toBeGreaterThanOrEqual(320);
      expect(pause).toBeLessThanOrEqual(480);
    }
  });

  it('names the longest pause it can return', () => {
    expect(longestBackoffMs(policy)).toBe(1_200);
    expect(longestBackoffMs({ maxMs: 1_000, jitter: 0.5 })).toBe(1_500);
  });
});
