import { InventoryServiceService } from '@switchboard/contracts';
import {
  createLogger,
  createMetricsRegistry,
  createOpsServer,
  type OpsServer,
} from '@switchboard/observability';
import { SpanKind, inSpan } from '@switchboard/telemetry';
import { afterAll } from 'vitest';
import { createGrpcClient, createGrpcServer } from '../../src/index.js';

/** What Prometheus (2.x) sends: OpenMetrics first, its text format after. */
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

/**
 * A gRPC server and a client on loopback, each with its own registry behind its own ops
 * server (as two processes would be), stopped after the file.
 */
export async function startServerAndClient() {
  const logger = createLogger({ service: 'grpc-test', level: 'silent' });
  const started: OpsServer[] = [];
  const side = async (service: string) => {
    const registry = createMetricsRegistry({ service });
    const ops = createOpsServer({ host: '127.0.0.1', port: 0, registry, logger });
    const port = await ops.start();
    started.push(ops);
    return { registry, metricsUrl: `http://127.0.0.1:${port}/metrics` };
  };
  const serverSide = await side('server');
  const clientSide = await side('client');
  const server = createGrpcServer({ logger, registry: serverSide.registry });
  const stock = { sku: 'sku-1', name: 'One', onHand: 5, reserved: 0, available: 5 };
  const refused = () => Promise.reject(new Error('not in this test'));
  server.addService(InventoryServiceService, {
    getStock: () => Promise.resolve({ stock }),
    reserve: refused,
    release: refused,
    listStock: refused,
    watchStock: () => ({ [Symbol.asyncIterator]: () => ({ next: refused }) }),
  });
  const port = await server.listen('127.0.0.1:0');
  const client = createGrpcClient(InventoryServiceService, `dns:///127.0.0.1:${port}`, {
    registry: clientSide.registry,
    peerName: 'inventory',
  });
  afterAll(async () => {
    client.close();
    await server.drain(100);
    for (const ops of started) await ops.stop();
  });

  return {
    /** One GetStock inside a span of the caller's; resolves with that span's trace id. */
    tracedGetStock: (): Promise<string> =>
      inSpan('caller', { kind: SpanKind.INTERNAL }, async (span) => {
        await client.getStock({ sku: 'sku-1' }, { deadline: new Date(Date.now() + 5_000) });
        return span.spanContext().traceId;
      }),
    /** The trace ids of GetStock's exemplars on each side, scraped as Prometheus scrapes. */
    exemplarTraceIds: async (): Promise<{ server: string[]; client: string[] }> => {
      const scrape = async (url: string, family: string) => {
        const response = await fetch(url, { headers: { accept: PROMETHEUS_ACCEPT } });
        return exemplarsOf(await response.text(), family);
      };
      return {
        server: await scrape(serverSide.metricsUrl, 'grpc_server_handling_seconds'),
        client: await scrape(clientSide.metricsUrl, 'grpc_client_handling_seconds'),
      };
    },
  };
}

/** The trace ids of the exemplars on a histogram's GetStock buckets. */
function exemplarsOf(text: string, family: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${family}_bucket{`) && line.includes('"GetStock"'))
    .flatMap((line) => /# \{trace_id="([^"]*)"\}/.exec(line)?.[1] ?? []);
}
