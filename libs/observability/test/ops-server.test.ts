import { afterEach, describe, expect, it } from 'vitest';
import {
  createLogger,
  createMetricsRegistry,
  createOpsServer,
  type OpsServer,
} from '../src/index.js';

const logger = createLogger({ service: 'test', level: 'silent' });
let server: OpsServer | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function start(checks: { name: string; check(): Promise<void> }[] = []) {
  const registry = createMetricsRegistry({ service: 'ops-test' });
  server = createOpsServer({
    host: '127.0.0.1',
    port: 0,
    registry,
    logger,
    checks,
    checkTimeoutMs: 200,
  });
  const port = await server.start();
  return { url: `http://127.0.0.1:${port}`, server };
}

describe('ops server', () => {
  it('answers /livez at once, before the process is ready', async () => {
    const { url } = await start();
    const response = await fetch(`${url}/livez`);
    expect(response.status).toBe(200);
  });

  it('answers /readyz 503 until ready, then 200, then 503 again when shutdown begins', async () => {
    const { url, server } = await start();
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    server.setReady(true);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    server.setReady(false);
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
  });

  it('answers /readyz 503 naming the failing and the hanging check', async () => {
    const { url, server } = await start([
      { name: 'database', check: () => Promise.reject(new Error('connection refused')) },
      { name: 'slow-peer', check: () => new Promise(() => {}) },
      { name: 'nats', check: () => Promise.resolve() },
    ]);
    server.setReady(true);
    const response = await fetch(`${url}/readyz`);
    expect(response.status).toBe(503);
    const body = (await response.json()) as {
      checks: { name: string; ok: boolean; error?: string }[];
    };
    expect(body.checks).toEqual([
      { name: 'database', ok: false, error: 'connection refused' },
      { name: 'slow-peer', ok: false, error: 'no answer within 200 ms' },
      { name: 'nats', ok: true },
    ]);
  });

  it('serves Prometheus text with the default process metrics', async () => {
    const { url } = await start();
    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toContain('process_cpu_seconds_total{service="ops-test"}');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });
});
