import { describe, expect, it } from 'vitest';
import {
  PROMETHEUS_ACCEPT,
  startAppWithOps,
  workExemplarTraceIds,
} from './support/app-with-ops.js';
import { inMemoryTracing } from './support/in-memory-tracing.js';

// Tracing on in this file (exemplars-off.test.ts has it off).
const exporter = inMemoryTracing();

describe('exemplars on the HTTP latency histogram, with tracing on', () => {
  it("carry the trace id of the request's span, served as OpenMetrics to a scraper that asks for it", async () => {
    const { appUrl, scrape } = await startAppWithOps();

    expect((await fetch(`${appUrl}/work`)).status).toBe(200);
    const span = await expect
      .poll(() => exporter.getFinishedSpans().find((each) => each.name === 'GET /work'))
      .toBeDefined()
      .then(() => exporter.getFinishedSpans().find((each) => each.name === 'GET /work')!);
    const { contentType, text } = await scrape(PROMETHEUS_ACCEPT);

    expect(contentType).toMatch(/^application\/openmetrics-text; version=1\.0\.0/);
    expect(text.endsWith('# EOF\n')).toBe(true);
    expect(workExemplarTraceIds(text)).toEqual([span.spanContext().traceId]);
  });

  it('are left out of the Prometheus text, whose counters keep their names after an OpenMetrics scrape', async () => {
    const { appUrl, scrape } = await startAppWithOps();
    await fetch(`${appUrl}/work`);

    await scrape(PROMETHEUS_ACCEPT);
    const { contentType, text } = await scrape();

    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(text).toMatch(/^http_server_request_duration_seconds_bucket\{.*route="\/work"/m);
    expect(workExemplarTraceIds(text)).toEqual([]);
    expect(text).not.toContain('# EOF');
    // prom-client renames counters in place while it renders OpenMetrics: they must be back.
    expect(text).toMatch(/^# TYPE process_cpu_seconds_total counter$/m);
  });
});
