import { afterEach, describe, expect, it } from 'vitest';
import {
  createLogger,
  createMetricsRegistry,
  createOpsServer,
  type OpsServer,
  type ReadinessCheck,
} from '../src/index.js';
import type { SocketDeclaration } from '@switchboard/sockets';

const logger = createLogger({ service: 'test', level: 'silent' });
let server: OpsServer | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function start(checks: ReadinessCheck[] = [], socketDeclaration?: () => SocketDeclaration) {
  const registry = createMetricsRegistry({ service: 'ops-test' });
  server = createOpsServer({
    host: '127.0.0.1',
    port: 0,
    registry,
    logger,
    checks,
    checkTimeoutMs: 200,
    ...(socketDeclaration ? { socketDeclaration } : {}),
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

  it('shows a failing non-critical check in /readyz but stays ready', async () => {
    const { url, server } = await start([
      { name: 'database', check: () => Promise.resolve() },
      { name: 'nats', check: () => Promise.reject(new Error('reconnecting')), critical: false },
    ]);
    server.setReady(true);
    const response = await fetch(`${url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      checks: [
        { name: 'database', ok: true },
        { name: 'nats', ok: false, error: 'reconnecting', critical: false },
      ],
    });
  });

  it('tells readiness listeners at once when it turns not ready, and when a check flips', async () => {
    let databaseUp = true;
    const { server } = await start([
      {
        name: 'database',
        check: () => (databaseUp ? Promise.resolve() : Promise.reject(new Error('down'))),
      },
    ]);
    const seen: boolean[] = [];
    server.onReadinessChange((ready) => seen.push(ready), 20);

    server.setReady(true);
    await expect.poll(() => seen).toEqual([true]);
    databaseUp = false;
    await expect.poll(() => seen).toEqual([true, false]);
    databaseUp = true;
    await expect.poll(() => seen).toEqual([true, false, true]);
    server.setReady(false);
    expect(seen).toEqual([true, false, true, false]);
  });

  it('serves Prometheus text with the default process metrics', async () => {
    const { url } = await start();
    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toContain('process_cpu_seconds_total{service="ops-test"}');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    // Prometheus keeps _total for counters: no gauge may end in it (promtool check metrics).
    const gaugesNamedLikeCounters = [...text.matchAll(/^# TYPE (\S+_total) gauge$/gm)];
    expect(gaugesNamedLikeCounters.map(([, name]) => name)).toEqual([]);
    expect(text).toContain('nodejs_active_handles{');
  });

  it('serves /sockets: its own listener declared, the connection of this request accepted on it', async () => {
    let port = 0;
    const { url } = await start([], () => ({
      service: 'ops-test',
      listeners: [
        {
          name: 'ops',
          protocol: 'tcp',
          host: '127.0.0.1',
          port,
          tls: false,
          public: false,
          clients: 'Prometheus',
        },
      ],
      peers: [],
    }));
    port = Number(new URL(url).port);
    const response = await fetch(`${url}/sockets`);
    expect(response.status).toBe(200);
    const report = (await response.json()) as {
      service: string;
      sockets: { role: string; declaredAs?: string; local: string; tls?: boolean }[];
    };
    expect(report.service).toBe('ops-test');
    expect(report.sockets).toContainEqual(
      expect.objectContaining({
        role: 'listener',
        declaredAs: 'ops',
        local: `127.0.0.1:${port}`,
        tls: false,
      }),
    );
    expect(report.sockets).toContainEqual(
      expect.objectContaining({ role: 'inbound', declaredAs: 'ops', local: `127.0.0.1:${port}` }),
    );
  });

  it('answers /sockets 404 without a declaration', async () => {
    const { url } = await start();
    expect((await fetch(`${url}/sockets`)).status).toBe(404);
  });
});
