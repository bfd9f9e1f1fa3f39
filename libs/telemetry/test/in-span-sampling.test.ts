import { ROOT_CONTEXT, context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  SpanKind,
  contextOfTraceparent,
  currentTraceIds,
  currentTraceparent,
  inSpan,
} from '../src/index.js';
import { startTelemetry, type Telemetry } from '../src/start-telemetry.js';

// The sampler of the 10 % setting, at 0 %: no root is sampled, a child follows its parent. The
// SDK reads these itself; vitest runs each file apart, so they stay in this file.
process.env.OTEL_TRACES_SAMPLER = 'parentbased_traceidratio';
process.env.OTEL_TRACES_SAMPLER_ARG = '0';

const exporter = new InMemorySpanExporter();
const processor = new SimpleSpanProcessor({ exporter });
/** The spans exported so far: SimpleSpanProcessor exports asynchronously, so flush first. */
async function exported() {
  await processor.forceFlush();
  return exporter.getFinishedSpans();
}
let telemetry: Telemetry;
beforeAll(async () => {
  telemetry = await startTelemetry({
    service: 'test',
    env: {},
    spanProcessors: [processor],
  });
});
afterAll(() => telemetry.shutdown());
// A span still being exported by the test before is not this test's.
beforeEach(async () => {
  await processor.forceFlush();
  exporter.reset();
});

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN_ID = 'b7ad6b7169203331';
const callerContext = (flags: '00' | '01') =>
  contextOfTraceparent(`00-${TRACE_ID}-${CALLER_SPAN_ID}-${flags}`);

/** What a span's work sees: what it sends on, and whether an instrumentation sees a span. */
function whatWorkSees() {
  const activeSpan = trace.getSpan(context.active());
  return {
    traceparent: currentTraceparent(),
    traceIds: currentTraceIds(),
    activeSpan:
      activeSpan === undefined ? 'none' : activeSpan.isRecording() ? 'recording' : 'not recording',
  };
}

describe('inSpan while tracing is on', () => {
  it('under a caller that is not sampled: builds no attributes, exports no span, sends the trace on unsampled', async () => {
    let attributesBuilt = 0;
    const attributes = () => {
      attributesBuilt += 1;
      return { 'rpc.method': 'GetStock' };
    };

    const seen = await inSpan(
      'server',
      () => ({ kind: SpanKind.SERVER, parent: callerContext('00'), attributes }),
      // A call the handler makes: a span of its own would be unsampled as well.
      () =>
        inSpan('client', { kind: SpanKind.CLIENT, attributes }, () =>
          Promise.resolve(whatWorkSees()),
        ),
    );

    expect(attributesBuilt).toBe(0);
    expect(await exported()).toEqual([]);
    // The next hop gets the caller's trace, not sampled: it does not sample it afresh.
    expect(seen.traceparent).toBe(`00-${TRACE_ID}-${CALLER_SPAN_ID}-00`);
    expect(seen.traceIds).toEqual({ trace_id: TRACE_ID, span_id: CALLER_SPAN_ID });
    // What the pg instrumentation's requireParentSpan reads: no span, so no query wrapper.
    expect(seen.activeSpan).toBe('none');
  });

  it('under a sampled caller: exports its span with its attributes, in the caller’s trace', async () => {
    let attributesBuilt = 0;

    const seen = await inSpan(
      'server',
      () => ({
        kind: SpanKind.SERVER,
        parent: callerContext('01'),
        attributes: () => {
          attributesBuilt += 1;
          return { 'rpc.method': 'GetStock' };
        },
      }),
      () => Promise.resolve(whatWorkSees()),
    );

    expect(attributesBuilt).toBe(1);
    const [span, ...others] = await exported();
    expect(others).toEqual([]);
    expect(span?.attributes).toEqual({ 'rpc.method': 'GetStock' });
    expect(span?.spanContext().traceId).toBe(TRACE_ID);
    expect(span?.parentSpanContext?.spanId).toBe(CALLER_SPAN_ID);
    expect(seen.traceparent).toBe(`00-${TRACE_ID}-${span?.spanContext().spanId}-01`);
    expect(seen.activeSpan).toBe('recording');
  });

  it('at the root, when the sampler drops the trace: builds no attributes, exports no span, sends it on unsampled', async () => {
    let attributesBuilt = 0;

    const seen = await inSpan(
      'client',
      {
        kind: SpanKind.CLIENT,
        parent: ROOT_CONTEXT,
        attributes: () => {
          attributesBuilt += 1;
          return { 'rpc.method': 'GetStock' };
        },
      },
      () => Promise.resolve(whatWorkSees()),
    );

    expect(attributesBuilt).toBe(0);
    expect(await exported()).toEqual([]);
    expect(seen.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    expect(seen.traceIds?.trace_id).toBe(seen.traceparent?.split('-')[1]);
    expect(seen.activeSpan).toBe('none');
  });
});
