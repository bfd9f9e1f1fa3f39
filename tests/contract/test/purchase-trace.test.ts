import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevCertificates } from '@switchboard/dev-certs';
import {
  REPO_ROOT,
  createDatabase,
  startNats,
  startOtlpReceiver,
  startPostgres,
  startServiceProcess,
  type OtlpReceiver,
  type ReceivedSpan,
  startInventoryProcess,
} from '@switchboard/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// One purchase is one connected trace (ADR 17), over each transport to inventory: the built
// services run as processes with tracing on, exporting to a receiver in this test.
const TRANSPORTS = ['gRPC over TCP', 'gRPC over a Unix socket', 'NATS request-reply'] as const;
type Transport = (typeof TRANSPORTS)[number];

const shared = new AsyncDisposableStack();
let receiver: OtlpReceiver;
const purchaseUrls = {} as Record<Transport, string>;

/** Spans sent at once (100 ms batches), to the receiver, as JSON. */
function tracingEnv(): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
  };
}

beforeAll(async () => {
  receiver = shared.use(await startOtlpReceiver());
  const [postgres, nats] = await Promise.all([startPostgres(), startNats()]);
  shared.use(postgres);
  shared.use(nats);
  const scratch = await mkdtemp(join(tmpdir(), 'trace-'));
  shared.defer(() => rm(scratch, { recursive: true, force: true }));
  const seedFile = join(scratch, 'products.json');
  await writeFile(seedFile, JSON.stringify([{ sku: 'traced-mug', name: 'Mug', onHand: 100 }]));
  const socketPath = join(scratch, 'run', 'inventory.sock');
  const certs = join(scratch, 'certs');
  await ensureDevCertificates({
    caDir: join(scratch, 'ca'),
    certsDir: certs,
    services: ['inventory', 'purchase'],
  });
  const tlsEnv = (service: string) => ({
    GRPC_TLS_CA_FILE: join(certs, service, 'ca.pem'),
    GRPC_TLS_CERT_FILE: join(certs, service, 'cert.pem'),
    GRPC_TLS_KEY_FILE: join(certs, service, 'key.pem'),
  });
  const inventory = shared.use(
    await startInventoryProcess('inventory', {
      ...tlsEnv('inventory'),
      ...tracingEnv(),
      DATABASE_URL: await createDatabase(postgres, 'inventory_trace'),
      NATS_URL: nats.url,
      GRPC_HOST: '127.0.0.1',
      GRPC_SOCKET_PATH: socketPath,
      OPS_HOST: '127.0.0.1',
      SEED_FILE: seedFile,
      SHUTDOWN_DELAY_MS: '0',
    }),
  );
  const targets: Record<Transport, string> = {
    'gRPC over TCP': `dns:///127.0.0.1:${inventory.ready.grpcPort}`,
    'gRPC over a Unix socket': `unix://${socketPath}`,
    'NATS request-reply': 'nats:inventory.v1',
  };
  // One purchase per transport, each on a database of its own.
  for (const [index, transport] of TRANSPORTS.entries()) {
    const purchase = shared.use(
      await startServiceProcess<{ httpPort: number }>({
        name: `purchase-${index}`,
        args: [join(REPO_ROOT, 'services', 'purchase', 'dist', 'main.js')],
        env: {
          PATH: process.env.PATH ?? '',
          ...tlsEnv('purchase'),
          ...tracingEnv(),
          DATABASE_URL: await createDatabase(postgres, `purchase_trace_${index}`),
          NATS_URL: nats.url,
          INVENTORY_TARGET: targets[transport],
          HTTP_HOST: '127.0.0.1',
          HTTP_PORT: '0',
          OPS_HOST: '127.0.0.1',
          OPS_PORT: '0',
          SHUTDOWN_DELAY_MS: '0',
          LOG_LEVEL: 'info',
        },
        ready: (line) =>
          line.includes('"purchase ready"')
            ? (JSON.parse(line) as { httpPort: number })
            : undefined,
      }),
    );
    purchaseUrls[transport] = `http://127.0.0.1:${purchase.ready.httpPort}`;
  }
});

afterAll(() => shared.disposeAsync());

/** The spans received so far of one trace. */
const spansOf = (traceId: string) => receiver.spans().filter((span) => span.traceId === traceId);

/** The one span named so, of that kind, in `spans` (fails the test if none or several). */
function only(spans: ReceivedSpan[], name: string | RegExp, kind: ReceivedSpan['kind']) {
  const found = spans.filter(
    (span) =>
      span.kind === kind && (typeof name === 'string' ? span.name === name : name.test(span.name)),
  );
  expect(found, `one ${kind} span ${String(name)} in ${describeSpans(spans)}`).toHaveLength(1);
  return found[0]!;
}

function describeSpans(spans: ReceivedSpan[]): string {
  return spans.map((span) => `${span.service}:${span.kind}:${span.name}`).join(', ');
}

/** Whether `descendant` is below `ancestor` in the tree of `spans`. */
function isBelow(spans: ReceivedSpan[], descendant: ReceivedSpan, ancestor: ReceivedSpan): boolean {
  const byId = new Map(spans.map((span) => [span.spanId, span]));
  for (let at = byId.get(descendant.parentSpanId); at; at = byId.get(at.parentSpanId)) {
    if (at.spanId === ancestor.spanId) return true;
  }
  return false;
}

/**
 * Buys a mug over `transport` in a trace the client starts itself, so the test knows its id;
 * `sampled` is the caller's sampled flag in the `traceparent`. Resolves with the trace id.
 */
async function purchaseInNewTrace(transport: Transport, sampled: boolean): Promise<string> {
  const traceId = randomBytes(16).toString('hex');
  const response = await fetch(`${purchaseUrls[transport]}/v1/purchases`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
      traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-${sampled ? '01' : '00'}`,
    },
    body: JSON.stringify({ customerId: 'c-trace', items: [{ sku: 'traced-mug', quantity: 1 }] }),
  });
  expect(response.status).toBe(201);
  return traceId;
}

/** The name of inventory's span serving Reserve over `transport`. */
function reserveServerNameOf(transport: Transport): string {
  return transport === 'NATS request-reply'
    ? 'process inventory.v1.Reserve'
    : 'switchboard.inventory.v1.InventoryService/Reserve';
}

describe.each(TRANSPORTS)('one purchase over %s', (transport) => {
  it('is one trace from the HTTP request to the publish, and the consumer links to it', async () => {
    const traceId = await purchaseInNewTrace(transport, true);

    // The purchase's trace: HTTP, Reserve (client and server), SQL, the relay's publish.
    const isNats = transport === 'NATS request-reply';
    // Each process sends its spans in batches of its own: wait for the request's span, for
    // inventory's server span (its queries end before it) and for the relay's publish.
    const reserveServerName = reserveServerNameOf(transport);
    await expect
      .poll(
        () => {
          const names = spansOf(traceId).map((span) => `${span.service} ${span.name}`);
          return (
            names.includes('purchase POST /v1/purchases') &&
            names.includes(`inventory ${reserveServerName}`) &&
            names.includes('purchase send orders.events.confirmed')
          );
        },
        { timeout: 15_000 },
      )
      .toBe(true);
    const trace = spansOf(traceId);
    const request = only(trace, 'POST /v1/purchases', 'SERVER');
    expect(request.service).toBe('purchase');
    const reserveClient = isNats
      ? only(trace, 'send inventory.v1.Reserve', 'PRODUCER')
      : only(trace, 'switchboard.inventory.v1.InventoryService/Reserve', 'CLIENT');
    const reserveServer = only(trace, reserveServerName, isNats ? 'CONSUMER' : 'SERVER');
    expect([reserveClient.service, reserveServer.service]).toEqual(['purchase', 'inventory']);
    expect(isBelow(trace, reserveClient, request)).toBe(true);
    expect(reserveServer.parentSpanId).toBe(reserveClient.spanId);
    // Both services' transactions, by the pg instrumentation, below the request.
    const queries = trace.filter(
      (span) =>
        span.attributes['db.system'] === 'postgresql' ||
        span.attributes['db.system.name'] === 'postgresql',
    );
    expect(new Set(queries.map((span) => span.service))).toEqual(
      new Set(['purchase', 'inventory']),
    );
    for (const query of queries) expect(isBelow(trace, query, request)).toBe(true);
    // The event, published later by the relay, in the same trace.
    const publish = only(trace, 'send orders.events.confirmed', 'PRODUCER');
    expect(publish.service).toBe('purchase');
    expect(publish.attributes).toMatchObject({
      'messaging.system': 'nats',
      'messaging.destination.name': 'orders.events.confirmed',
    });
    expect(isBelow(trace, publish, request)).toBe(true);

    // inventory's consumer: a trace of its own, linked to the publish; its commit's event
    // (StockChanged) is published in it.
    const linked = () =>
      receiver
        .spans()
        .find(
          (span) =>
            span.kind === 'CONSUMER' &&
            span.links.some((link) => link.spanId === publish.spanId && link.traceId === traceId),
        );
    await expect.poll(() => linked() !== undefined, { timeout: 15_000 }).toBe(true);
    const consumer = linked()!;
    expect(consumer).toMatchObject({
      service: 'inventory',
      name: 'process orders.events.confirmed',
      parentSpanId: '',
    });
    expect(consumer.traceId).not.toBe(traceId);
    await expect
      .poll(() => spansOf(consumer.traceId).some((span) => span.kind === 'PRODUCER'), {
        timeout: 15_000,
      })
      .toBe(true);
    const consumerTrace = spansOf(consumer.traceId);
    const stockChanged = only(
      consumerTrace,
      /^send inventory\.events\.stock\.changed\./,
      'PRODUCER',
    );
    expect(isBelow(consumerTrace, stockChanged, consumer)).toBe(true);
  });

  it('is not traced at all when its caller did not sample it, and no hop samples it afresh', async () => {
    const reserveServers = () =>
      receiver.spans().filter((span) => span.name === reserveServerNameOf(transport));
    const reserveServersBefore = reserveServers().length;
    const traceId = await purchaseInNewTrace(transport, false);

    // inventory's consumer starts a trace of its own (sampled here), linked to the unsampled
    // publish: it comes after every hop of the purchase, so their spans would be in by then.
    await expect
      .poll(
        () =>
          receiver
            .spans()
            .some(
              (span) =>
                span.kind === 'CONSUMER' && span.links.some((link) => link.traceId === traceId),
            ),
        { timeout: 15_000 },
      )
      .toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(describeSpans(spansOf(traceId))).toBe('');
    // Had a hop lost the unsampled flag, inventory would have started a trace of its own.
    expect(reserveServers()).toHaveLength(reserveServersBefore);
  });
});
