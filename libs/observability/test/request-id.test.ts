import { describe, expect, it } from 'vitest';
import {
  createLogger,
  currentRequestId,
  isValidRequestId,
  requestIdFrom,
  runWithIncomingRequestId,
  runWithRequestId,
} from '../src/index.js';

function loggerWithLines() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    service: 'test',
    level: 'info',
    destination: { write: (line) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { logger, lines };
}

describe('the request id', () => {
  it('accepts 1 to 128 characters of [A-Za-z0-9._:-] and nothing else', () => {
    for (const valid of ['a', 'req-1', 'A.b_c:d-9', 'x'.repeat(128)])
      expect(isValidRequestId(valid)).toBe(true);
    for (const invalid of [
      '',
      'x'.repeat(129),
      'has space',
      'new\nline',
      'quo"te',
      'é',
      undefined,
      42,
    ])
      expect(isValidRequestId(invalid)).toBe(false);
    expect(requestIdFrom('req-1')).toBe('req-1');
    expect(requestIdFrom('bad id')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
  });

  it('is written on every line logged inside the request, by any logger and its children, across awaits', async () => {
    const { logger, lines } = loggerWithLines();
    logger.info('before');
    await runWithRequestId('req-7', async () => {
      logger.info('inside');
      await new Promise((resolve) => setTimeout(resolve, 5));
      logger.child({ component: 'db' }).warn('after an await, from a child');
    });
    logger.info('after');
    expect(lines.map((line) => [line.msg, line.requestId])).toEqual([
      ['before', undefined],
      ['inside', 'req-7'],
      ['after an await, from a child', 'req-7'],
      ['after', undefined],
    ]);
  });

  it('is taken from another transport only when valid', () => {
    expect(runWithIncomingRequestId('req-8', () => currentRequestId())).toBe('req-8');
    expect(runWithIncomingRequestId('bad id', () => currentRequestId())).toBeUndefined();
    expect(runWithIncomingRequestId(undefined, () => currentRequestId())).toBeUndefined();
  });
});
