import {
  INVALID_SPAN_CONTEXT,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  context,
  createContextKey,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';

/**
 * The W3C trace context as every transport carries it: `traceparent` (and `tracestate`) in the
 * gRPC metadata, the NATS headers and the outbox row, beside the request id (ADR 17, ADR 18).
 * Only @opentelemetry/api here: with the SDK off (start-telemetry.ts) every call below is the
 * API's no-op, so the transports pay nearly nothing.
 */
export const TRACEPARENT_HEADER = 'traceparent';

/** Who wrote the spans: one tracer for the code of this repository. */
const TRACER_NAME = 'switchboard';
const tracer = () => trace.getTracer(TRACER_NAME);

/**
 * Whether an SDK is registered (startTelemetry). Without one, every span, inject and extract
 * is the API's no-op, so the transports skip them, and the attributes and closures they would
 * build, on every call: measured at about 5 % of a gRPC server's CPU (ADR 24).
 */
export function tracingOn(): boolean {
  const provider = trace.getTracerProvider();
  // The API's global provider is a proxy; it has a delegate once an SDK registered one.
  return (
    !(provider instanceof ProxyTracerProvider) ||
    provider.getDelegateTracer(TRACER_NAME) !== undefined
  );
}

/** The span `work` gets while tracing is off: records nothing, as the API's own no-op. */
const NO_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

export { ROOT_CONTEXT, SpanKind };

/** Writes the current trace context into a carrier (headers, metadata) through `set`. */
export function injectTraceContext(set: (key: string, value: string) => void): void {
  if (!tracingOn()) return;
  propagation.inject(
    withUnsampledTraceAsSpan(context.active()),
    {},
    {
      set: (_carrier, key, value) => set(key, value),
    },
  );
}

/** The trace context a caller sent, read through `get`; the root context when none. */
export function extractTraceContext(get: (key: string) => string | undefined): Context {
  if (!tracingOn()) return ROOT_CONTEXT;
  return propagation.extract(
    ROOT_CONTEXT,
    {},
    {
      get: (_carrier, key) => get(key),
      keys: () => [],
    },
  );
}

/** The `traceparent` of the current span, to store with work done later (the outbox row). */
export function currentTraceparent(): string | undefined {
  let traceparent: string | undefined;
  injectTraceContext((key, value) => {
    if (key === TRACEPARENT_HEADER) traceparent = value;
  });
  return traceparent;
}

/** The context a stored `traceparent` names; the root context when absent or invalid. */
export function contextOfTraceparent(traceparent: string | null | undefined): Context {
  return extractTraceContext((key) =>
    key === TRACEPARENT_HEADER ? (traceparent ?? undefined) : undefined,
  );
}

/** A link to the span of `linked`, when it has one: how an asynchronous hop is joined. */
export function linkTo(linked: Context): Link[] {
  const spanContext = trace.getSpanContext(linked);
  return spanContext && trace.isSpanContextValid(spanContext) ? [{ context: spanContext }] : [];
}

/** The ids of the current span, for the log lines (the logger's mixin). */
export function currentTraceIds(): { trace_id: string; span_id: string } | undefined {
  const active = context.active();
  const spanContext = trace.getSpanContext(active) ?? unsampledTraceOf(active);
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return undefined;
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}

/** The label of a histogram's exemplar that names the trace (Grafana links it to the trace). */
export const EXEMPLAR_TRACE_LABEL = 'trace_id';

/**
 * The exemplar labels of a sample made now: the trace id of the current span when that span is
 * sampled (exported, so the trace can be opened), else undefined. While tracing is off it returns
 * at once (tracingOn), so a histogram's hot path pays one check (ADR 17, ADR 24).
 */
export function traceExemplar(): Record<string, string> | undefined {
  if (!tracingOn()) return undefined;
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (!spanContext || (spanContext.traceFlags & TraceFlags.SAMPLED) === 0) return undefined;
  return { [EXEMPLAR_TRACE_LABEL]: spanContext.traceId };
}

export interface SpanOptions {
  kind: SpanKind;
  /** Built only for a span that records: a function is not called for an unsampled call. */
  attributes?: Attributes | (() => Attributes);
  /** The parent; the current context when left out. */
  parent?: Context;
  links?: Link[];
}

/**
 * Runs `work` in a new span, current for everything `work` does (so the calls it makes carry
 * it), and ends the span when `work` settles; a throw marks the span as an error and goes on.
 * `options` may be a function, called only while tracing is on: a hot path then builds no
 * attributes and reads no parent context for a span nobody records.
 *
 * A call whose trace is not sampled (ADR 17, "Cost") starts no span at all: under a parent that
 * is not sampled the parent-based samplers (the SDK's default, and the 10 % setting) would drop
 * it anyway, so `work` runs in the unsampled trace (see `UNSAMPLED_TRACE`). A root span is left
 * to the sampler, and its attributes are built only if it records (the samplers we configure,
 * `OTEL_TRACES_SAMPLER`, decide on the trace id and the parent, never on attributes); one it
 * drops runs its work in the unsampled trace too.
 */
export async function inSpan<T>(
  name: string,
  options: SpanOptions | (() => SpanOptions),
  work: (span: Span) => Promise<T>,
): Promise<T> {
  // Async, as the recorded path is: a throw before `work` returns its promise is a rejection.
  if (!tracingOn()) return work(NO_SPAN);
  const resolved = typeof options === 'function' ? options() : options;
  const parent = resolved.parent ?? context.active();
  const unsampled = unsampledParentOf(parent);
  if (unsampled) return inUnsampledTrace(parent, unsampled, work);
  return inStartedSpan(name, resolved, parent, work);
}

async function inStartedSpan<T>(
  name: string,
  options: SpanOptions,
  parent: Context,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const span = tracer().startSpan(name, { kind: options.kind, links: options.links }, parent);
  // Dropped by the sampler (a root, at 10 %: nine calls in ten): as under an unsampled parent.
  if (!span.isRecording()) return inUnsampledTrace(parent, span.spanContext(), work);
  const { attributes } = options;
  if (attributes) span.setAttributes(typeof attributes === 'function' ? attributes() : attributes);
  try {
    return await context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    markFailed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/**
 * Where `work` of an unsampled trace keeps that trace: under a key of ours rather than as the
 * current span. Instrumentations that trace only under a parent (the pg instrumentation's
 * `requireParentSpan`, start-telemetry.ts) then see none and skip their per-query wrapper,
 * while our own inject (the `traceparent` sent on, sampled flag off, so the next hop does not
 * sample the trace afresh), `currentTraceparent` (the outbox row) and the log lines' ids still
 * read it.
 */
const UNSAMPLED_TRACE = createContextKey('switchboard: the unsampled trace of this work');

function unsampledTraceOf(ctx: Context): SpanContext | undefined {
  return ctx.getValue(UNSAMPLED_TRACE) as SpanContext | undefined;
}

/** The span context of `parent` when it is a valid trace that is not sampled. */
function unsampledParentOf(parent: Context): SpanContext | undefined {
  const spanContext = trace.getSpanContext(parent);
  if (spanContext === undefined) return unsampledTraceOf(parent);
  const sampled = (spanContext.traceFlags & TraceFlags.SAMPLED) !== 0;
  return !sampled && trace.isSpanContextValid(spanContext) ? spanContext : undefined;
}

function inUnsampledTrace<T>(
  parent: Context,
  unsampled: SpanContext,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const untraced = trace.deleteSpan(parent).setValue(UNSAMPLED_TRACE, unsampled);
  return context.with(untraced, () => work(trace.wrapSpanContext(unsampled)));
}

/** `ctx` with its unsampled trace, if any, as the span: what the propagator reads. */
function withUnsampledTraceAsSpan(ctx: Context): Context {
  const unsampled = unsampledTraceOf(ctx);
  return unsampled === undefined ? ctx : trace.setSpanContext(ctx, unsampled);
}

/** Marks a span as failed with what was thrown (or an error code the transport returned). */
export function markFailed(span: Span, error: unknown): void {
  if (error instanceof Error) span.recordException(error);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}
