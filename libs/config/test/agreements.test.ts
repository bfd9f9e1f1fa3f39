import { describe, expect, it } from 'vitest';
import { ConfigError, assertSettingsAgree, mustBeAtLeast, mustExceed } from '../src/index.js';

describe('settings that must agree', () => {
  it('says nothing when the longer setting is longer', () => {
    expect(
      mustExceed(
        { name: 'HTTP_KEEP_ALIVE_TIMEOUT_MS', ms: 65_000 },
        { name: 'LOAD_BALANCER_IDLE_TIMEOUT_MS', ms: 60_000 },
        'the balancer must close idle connections first',
      ),
    ).toBeUndefined();
  });

  it('names both settings, their values and why, and reports every clash at once', () => {
    const problems = [
      mustExceed(
        { name: 'HTTP_KEEP_ALIVE_TIMEOUT_MS', ms: 5_000 },
        { name: 'LOAD_BALANCER_IDLE_TIMEOUT_MS', ms: 60_000 },
        'the balancer must close idle connections first',
      ),
      undefined,
      mustExceed(
        { name: 'SHUTDOWN_TIMEOUT_MS', ms: 3_000 },
        { name: 'SHUTDOWN_DELAY_MS + REQUEST_TIMEOUT_MS', ms: 7_000 },
        'requests in flight need time to finish',
      ),
    ];
    let error: unknown;
    try {
      assertSettingsAgree(problems);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'HTTP_KEEP_ALIVE_TIMEOUT_MS (5000 ms) must be longer than LOAD_BALANCER_IDLE_TIMEOUT_MS (60000 ms): the balancer must close idle connections first',
      'SHUTDOWN_TIMEOUT_MS (3000 ms) must be longer than SHUTDOWN_DELAY_MS + REQUEST_TIMEOUT_MS (7000 ms): requests in flight need time to finish',
    ]);
  });

  it('mustBeAtLeast accepts an equal setting and names both, with why, when it falls short', () => {
    const week = { name: 'the max_age of stream ORDERS', ms: 604_800_000 };
    expect(mustBeAtLeast({ name: 'INBOX_RETENTION_HOURS', ms: 604_800_000 }, week, 'w')).toBe(
      undefined,
    );
    expect(mustBeAtLeast({ name: 'INBOX_RETENTION_HOURS', ms: 604_799_999 }, week, 'why')).toBe(
      'INBOX_RETENTION_HOURS (604799999 ms) must be at least the max_age of stream ORDERS (604800000 ms): why',
    );
  });
});
