import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { startTelemetry, type Telemetry } from '@switchboard/telemetry/start';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerAndClient } from './support/traced-call.js';

// Tracing on in this file only (vitest runs each file apart): exemplars-off.test.ts has it off.
let telemetry: Telemetry | undefined;
beforeAll(async () => {
  telemetry = await startTelemetry({
    service: 'grpc-test',
    env: {},
    spanProcessors: [new SimpleSpanProcessor({ exporter: new InMemorySpanExporter() })],
  });
});
afterAll(() => telemetry?.shutdown());

describe('exemplars on the gRPC latency histograms, with tracing on', () => {
  it("carry the caller's trace id on the client's and on the server's histogram", async () => {
    const { tracedGetStock, exemplarTraceIds } = await startServerAndClient();

    const traceId = await tracedGetStock();

    expect(await exemplarTraceIds()).toEqual({ server: [traceId], client: [traceId] });
  });
});
