import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { startTelemetry, type Telemetry } from '@switchboard/telemetry/start';
import { afterAll, beforeAll } from 'vitest';

/**
 * Turns the SDK on for the calling test file, with its spans kept in memory (vitest runs each
 * file apart, so the other files keep tracing off), and off again after the file.
 */
export function inMemoryTracing(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter();
  let telemetry: Telemetry | undefined;
  beforeAll(async () => {
    telemetry = await startTelemetry({
      service: 'test',
      env: {},
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
    });
  });
  afterAll(() => telemetry?.shutdown());
  return exporter;
}
