import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectBus, startNatsService, type Bus, type NatsService } from '@switchboard/bus';
import { InventoryServiceService } from '@switchboard/contracts';
import { AppError } from '@switchboard/errors';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '@switchboard/grpc';
import { createMetricsRegistry } from '@switchboard/observability';
import { startNats, type StartedNats, testLogger } from '@switchboard/testing';
import type { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsInventoryClient } from '../src/index.js';

const logger = testLogger('inventory-client-test');
/** Longer backoffs than the default, so that the timing bounds below can be generous. */
const SLOW_RETRY: RetryPolicy = {
  ...DEFAULT_RETRY_POLICY,
  initialBackoffMs: 100,
  backoffMultiplier: 10,
  maxBackoffMs: 1_000,
};

let nats: StartedNats;
/** The client's connection and registry (purchase's side). */
let bus: Bus;
let registry: Registry;
/** The responders' connection: inventory's side, another process in production. */
let serverBus: Bus;

beforeAll(async () => {
  nats = await startNats();
  registry = createMetricsRegistry({ service: 'inventory-client-test' });
  bus = await connectBus({ servers: nats.url, name: 'client', logger, registry });
  serverBus = await connectBus({
    servers: nats.url,
    name: 'inventory',
    logger,
    registry: createMetricsRegistry({ service: 'inventory' }),
  });
});

afterAll(async () => {
  await bus?.drain();
  await serverBus?.drain();
  await nats?.stop();
});

/** Endpoints of each test's own, so that no test answers another's requests. */
function newSubjectPrefix(): string {
  return `inventory-${randomUUID().slice(0, 8)}.v1`;
}

function clientOf(subjectPrefix: string, retryPolicy?: RetryPolicy) {
  return createNatsInventoryClient({
    bus,
    subjectPrefix,
    serviceName: subjectPrefix.split('.')[0]!,
    retryPolicy,
  });
}

/** A GetStock responder that records each SKU asked for, then runs `work` before answering. */
async function startResponder(
  subjectPrefix: string,
  work: (signal: AbortSignal) => Promise<void> = async () => {},
): Promise<NatsService & { requests: string[] }> {
  const requests: string[] = [];
  const method = InventoryServiceService.getStock;
  const service = await startNatsService(serverBus, {
    name: subjectPrefix.split('.')[0]!,
    version: '1.0.0',
    description: 'a test stand-in for inventory',
    subjectPrefix,
    endpoints: {
      async GetStock(payload, { signal }) {
        const { sku } = method.requestDeserialize(Buffer.from(payload));
        requests.push(sku);
        await work(signal);
        const stock = { sku, name: 'Red mug', onHand: 5, reserved: 0, available: 5 };
        return method.responseSerialize({ stock });
      },
    },
  });
  return Object.assign(service, { requests });
}

/** Retries counted for the subject: attempts after the first. */
async function retriesOf(subject: string): Promise<number> {
  const metric = await registry.getSingleMetric('nats_request_retries_total')?.get();
  return metric?.values.find((value) => value.labels.subject === subject)?.value ?? 0;
}

function inMs(ms: number): Date {
  return new Date(Date.now() + ms);
}

/** The call's error and how long it took to fail; fails the test if it resolves. */
async function failureOf(call: Promise<unknown>): Promise<{ error: AppError; elapsedMs: number }> {
  const startedAt = performance.now();
  const error = await call.then(
    () => expect.fail('the call resolved'),
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(AppError);
  return { error: error as AppError, elapsedMs: performance.now() - startedAt };
}

describe('the NATS adapter retries like the gRPC one', () => {
  it('sends a GetStock that found no responder again, and succeeds once inventory subscribes', async () => {
    const subjectPrefix = newSubjectPrefix();
    const subject = `${subjectPrefix}.GetStock`;
    const inventory = clientOf(subjectPrefix);

    const answer = inventory.getStock('sku-red-mug', { deadline: inMs(5_000) });
    // The second attempt goes ~50 ms after the first, the third ~100 ms after the second: a
    // responder started as the second goes is there for the third at the latest. Attempts
    // that found no responder reached nobody, so the responder sees the request once.
    await expect.poll(() => retriesOf(subject), { interval: 5 }).toBe(1);
    const responder = await startResponder(subjectPrefix);
    try {
      await expect(answer).resolves.toMatchObject({ sku: 'sku-red-mug', available: 5 });
      expect(responder.requests).toEqual(['sku-red-mug']);
      expect(await retriesOf(subject)).toBeGreaterThanOrEqual(1);
    } finally {
      await responder.stop();
    }
  });

  it('with no responder at all, fails UNAVAILABLE after 3 attempts, long before the deadline', async () => {
    const subjectPrefix = newSubjectPrefix();
    const inventory = clientOf(subjectPrefix);

    const { error, elapsedMs } = await failureOf(
      inventory.getStock('sku-red-mug', { deadline: inMs(10_000) }),
    );

    expect(error.code).toBe('UNAVAILABLE');
    expect(await retriesOf(`${subjectPrefix}.GetStock`)).toBe(2);
    // Two backoffs: 50 then 100 ms, each at least 80 % of it.
    expect(elapsedMs).toBeGreaterThanOrEqual(110);
    expect(elapsedMs).toBeLessThan(2_000);
  });

  it('never starts an attempt after the deadline: when the next backoff would pass it, fails at once with the last error', async () => {
    const subjectPrefix = newSubjectPrefix();
    const inventory = clientOf(subjectPrefix, SLOW_RETRY);

    // Attempts at ~0 and ~100 ms; the next backoff (~1 s) would end after the deadline.
    const { error, elapsedMs } = await failureOf(
      inventory.getStock('sku-red-mug', { deadline: inMs(600) }),
    );

    expect(error.code).toBe('UNAVAILABLE');
    expect(await retriesOf(`${subjectPrefix}.GetStock`)).toBe(1);
    expect(elapsedMs).toBeLessThan(600);
  });

  it('does not send again a request that timed out at a slow responder', async () => {
    const subjectPrefix = newSubjectPrefix();
    const inventory = clientOf(subjectPrefix);
    // Busy until the caller's deadline, which reaches the handler as its signal.
    const responder = await startResponder(
      subjectPrefix,
      (signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve())),
    );
    try {
      const { error } = await failureOf(inventory.getStock('sku-red-mug', { deadline: inMs(300) }));

      expect(error.code).toBe('DEADLINE_EXCEEDED');
      await sleep(300);
      expect(responder.requests).toEqual(['sku-red-mug']);
      expect(await retriesOf(`${subjectPrefix}.GetStock`)).toBe(0);
    } finally {
      await responder.stop();
    }
  });

  // The service ran the handler: only a request that reached no one is sent again.
  it.each(['UNAVAILABLE', 'DEADLINE_EXCEEDED'] as const)(
    'does not send again a request the service answered with %s',
    async (code) => {
      const subjectPrefix = newSubjectPrefix();
      const inventory = clientOf(subjectPrefix);
      const responder = await startResponder(subjectPrefix, () =>
        Promise.reject(new AppError(code, 'the database did not answer')),
      );
      try {
        const { error } = await failureOf(
          inventory.getStock('sku-red-mug', { deadline: inMs(5_000) }),
        );

        expect(error).toMatchObject({ code, message: 'the database did not answer' });
        expect(responder.requests).toEqual(['sku-red-mug']);
        expect(await retriesOf(`${subjectPrefix}.GetStock`)).toBe(0);
      } finally {
        await responder.stop();
      }
    },
  );

  // Refused before it started (inventory's admission control): nothing ran, so it may go again.
  it('sends again a request the service answered OVERLOADED, and succeeds once there is room', async () => {
    const subjectPrefix = newSubjectPrefix();
    const inventory = clientOf(subjectPrefix);
    let refusals = 1;
    const responder = await startResponder(subjectPrefix, () =>
      refusals-- > 0
        ? Promise.reject(new AppError('OVERLOADED', 'inventory-api is at capacity'))
        : Promise.resolve(),
    );
    try {
      await expect(
        inventory.getStock('sku-red-mug', { deadline: inMs(5_000) }),
      ).resolves.toMatchObject({ sku: 'sku-red-mug', available: 5 });
      expect(responder.requests).toEqual(['sku-red-mug', 'sku-red-mug']);
      expect(await retriesOf(`${subjectPrefix}.GetStock`)).toBe(1);
    } finally {
      await responder.stop();
    }
  });

  it('stops at once with CANCELLED when the signal aborts during a backoff', async () => {
    const subjectPrefix = newSubjectPrefix();
    const inventory = clientOf(subjectPrefix, { ...SLOW_RETRY, initialBackoffMs: 1_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);

    // The first attempt fails at once; the abort comes during the ~1 s backoff after it.
    const { error, elapsedMs } = await failureOf(
      inventory.getStock('sku-red-mug', { deadline: inMs(10_000), signal: controller.signal }),
    );

    expect(error.code).toBe('CANCELLED');
    expect(elapsedMs).toBeLessThan(700);
    expect(await retriesOf(`${subjectPrefix}.GetStock`)).toBe(0);
  });

  it('never retries the health check: a probe must see the outage', async () => {
    const subjectPrefix = newSubjectPrefix();
    const inventory = clientOf(subjectPrefix);

    const { error } = await failureOf(inventory.checkHealth({ deadline: inMs(5_000) }));

    expect(error.code).toBe('UNAVAILABLE');
    expect(await retriesOf(`$SRV.PING.${subjectPrefix.split('.')[0]}`)).toBe(0);
  });
});
