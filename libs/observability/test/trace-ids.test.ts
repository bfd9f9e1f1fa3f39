import { SpanKind, inSpan } from '@switchboard/telemetry';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/index.js';
import { inMemoryTracing } from './support/in-memory-tracing.js';

const exporter = inMemoryTracing();

function loggerWithLines() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    service: 'test',
    level: 'info',
    destination: { write: (line) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { logger, lines };
}

describe('the trace ids in log lines', () => {
  it('are those of the current span, on every line written inside it, and absent outside', async () => {
    const { logger, lines } = loggerWithLines();
    const ids = await inSpan('work', { kind: SpanKind.INTERNAL }, async (span) => {
      logger.info('inside');
      await new Promise((resolve) => setTimeout(resolve, 1));
      logger.child({ component: 'child' }).info('inside, later, from a child logger');
      return span.spanContext();
    });
    logger.info('outside');

    expect(lines.map((line) => [line.trace_id, line.span_id])).toEqual([
      [ids.traceId, ids.spanId],
      [ids.traceId, ids.spanId],
      [undefined, undefined],
    ]);
    // The span ended and went to the exporter (asynchronously).
    await expect.poll(() => exporter.getFinishedSpans().map((span) => span.name)).toEqual(['work']);
  });
});
