import { LOG_LEVELS, createLogger, type Logger } from '@switchboard/observability';

type Level = (typeof LOG_LEVELS)[number];

/**
 * The logger a test hands to the code under test: silent, so test output stays readable,
 * unless TEST_LOG_LEVEL names a level (TEST_LOG_LEVEL=debug to see what happened).
 */
export function testLogger(service = 'test'): Logger {
  const wanted = process.env.TEST_LOG_LEVEL;
  const level = LOG_LEVELS.includes(wanted as Level) ? (wanted as Level) : 'silent';
  return createLogger({ service, level });
}

/** A logger whose lines the test reads back (parsed), for what a service writes in its logs. */
export function capturingLogger(service = 'test'): {
  logger: Logger;
  lines: Record<string, unknown>[];
} {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    service,
    level: 'debug',
    destination: { write: (line) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { logger, lines };
}
