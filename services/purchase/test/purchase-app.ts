import { createMetricsRegistry, type Logger } from '@switchboard/observability';
import { testLogger } from '@switchboard/testing';
import { createApp, type PurchaseApp } from '../src/app.js';
import { readConfig } from '../src/config.js';

/** Builds and starts purchase in-process on free ports, configured like main.ts does. */
export async function startPurchase(
  env: Record<string, string>,
  logger: Logger = testLogger('purchase'),
): Promise<{
  app: PurchaseApp;
  baseUrl: string;
  opsUrl: string;
}> {
  const config = readConfig({
    HTTP_PORT: '0',
    OPS_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    OPS_HOST: '127.0.0.1',
    SHUTDOWN_DELAY_MS: '0',
    // Every test request comes from 127.0.0.1: the per-client limit has tests of its own.
    HTTP_RATE_LIMIT_MAX: '0',
    ...env,
  });
  const app = createApp({
    config,
    logger,
    registry: createMetricsRegistry({ service: 'purchase' }),
  });
  const { httpPort, opsPort } = await app.start();
  return { app, baseUrl: `http://127.0.0.1:${httpPort}`, opsUrl: `http://127.0.0.1:${opsPort}` };
}

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
  /** The body exactly as sent, for byte-for-byte comparisons. */
  text: string;
}

export async function send(
  url: string,
  init: {
    method?: string;
    headers?: Record<string, string>;
    body?: unknown;
    rawBody?: string;
  } = {},
): Promise<Reply> {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.body !== undefined || init.rawBody !== undefined
        ? { 'content-type': 'application/json' }
        : {}),
      ...init.headers,
    },
    body: init.rawBody ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? JSON.parse(text) : undefined,
    text,
  };
}
