import { describe, expect, it } from 'vitest';
import { timeCalls } from '../src/timed-calls.js';

describe('timeCalls', () => {
  it('makes calls in a closed loop, never more than `concurrency` at once, until told to stop', async () => {
    let inFlight = 0;
    let mostInFlight = 0;
    const timed = await timeCalls(
      async (n) => {
        inFlight++;
        mostInFlight = Math.max(mostInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight--;
        if (n % 4 === 3) throw new Error('a failed call');
      },
      { concurrency: 3, until: (started) => started >= 20 },
    );

    expect(timed.calls).toBe(20);
    expect(mostInFlight).toBe(3);
    expect(timed.failures).toBe(5);
    expect(timed.latencies).toHaveLength(15);
    for (const latency of timed.latencies) expect(latency).toBeGreaterThanOrEqual(4);
    expect(timed.seconds).toBeGreaterThan(0);
  });
});
