import { pino, type Logger, type LevelWithSilent, type LoggerOptions } from 'pino';
import { currentTraceIds } from '@switchboard/telemetry';
import { currentRequestId } from './request-id.js';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * JSON logs on stdout, one line per event, with the service name on every line, and the
 * request id on every line written for a request (request-id.ts), whichever logger writes it,
 * and the trace_id and span_id of the current span when tracing is on (ADR 17).
 */
export function createLogger(options: {
  service: string;
  level: LevelWithSilent;
  /** Where the lines go; stdout unless a test reads them. */
  destination?: { write(line: string): void };
}): Logger {
  const pinoOptions: LoggerOptions = {
    level: options.level,
    base: { service: options.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: () => {
      const requestId = currentRequestId();
      return { ...(requestId === undefined ? {} : { requestId }), ...currentTraceIds() };
    },
  };
  return options.destination ? pino(pinoOptions, options.destination) : pino(pinoOptions);
}
