import { describe, expect, it } from 'vitest';
import {
  PROMETHEUS_ACCEPT,
  startAppWithOps,
  workExemplarTraceIds,
} from './support/app-with-ops.js';

// No SDK in this file (vitest runs each file apart): tracing is off, as in production by default.
describe('exemplars on the HTTP latency histogram, with tracing off', () => {
  it('are absent from the OpenMetrics a scraper asks for', async () => {
    const { appUrl, scrape } = await startAppWithOps();

    expect((await fetch(`${appUrl}/work`)).status).toBe(200);
    const { contentType, text } = await scrape(PROMETHEUS_ACCEPT);

    expect(contentType).toMatch(/^application\/openmetrics-text/);
    expect(text).toMatch(/^http_server_request_duration_seconds_bucket\{.*route="\/work"/m);
    expect(workExemplarTraceIds(text)).toEqual([]);
    expect(text).not.toContain(' # {');
  });
});
