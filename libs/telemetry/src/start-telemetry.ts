import type { SpanProcessor } from '@opentelemetry/sdk-trace';

/**
 * Starts the OpenTelemetry SDK of a service: HTTP spans by @fastify/otel, Postgres spans by the
 * pg instrumentation, exported over OTLP in batches. gRPC and NATS spans are written by libs/grpc and
 * libs/bus (trace-context.ts), which the instrumentations cannot see through (ADR 17).
 *
 * Call it first in the entry point, then import the rest of the service: an instrumentation
 * patches a module when it loads, so a module loaded before it is not traced.
 *
 * Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (and
 * `OTEL_SDK_DISABLED` is not `true`): then nothing is loaded, and every span call is the API's
 * no-op. The SDK reads the other standard variables itself (OTEL_SERVICE_NAME,
 * OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG...).
 */
export interface Telemetry {
  readonly enabled: boolean;
  /** Exports the spans still buffered, then stops; nothing to do when off. */
  shutdown(): Promise<void>;
}

/** The paths of the ops server, scraped every few seconds: no trace for them. */
const UNTRACED_PATHS = new Set(['/livez', '/readyz', '/metrics', '/sockets']);

export function tracingEnabled(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

export async function startTelemetry(options: {
  /** The service.name of its spans, unless OTEL_SERVICE_NAME says otherwise. */
  service: string;
  env: NodeJS.ProcessEnv;
  /** Where the spans go instead of OTLP (tests: an in-memory exporter); starts the SDK. */
  spanProcessors?: SpanProcessor[];
}): Promise<Telemetry> {
  if (!options.spanProcessors && !tracingEnabled(options.env)) {
    return { enabled: false, shutdown: async () => {} };
  }
  // Loaded only when on, so a service with tracing off does not load the SDK at all.
  const [{ register }, { NodeSDK }, { PgInstrumentation }, { FastifyOtelInstrumentation }] =
    await Promise.all([
      import('import-in-the-middle/register-hooks.mjs'),
      import('@opentelemetry/sdk-node'),
      import('@opentelemetry/instrumentation-pg'),
      import('@fastify/otel'),
    ]);
  // An ESM `import pg from 'pg'` is patched only through a loader hook, in place before pg
  // loads (Fastify needs none: @fastify/otel hooks in by diagnostics_channel).
  register({ include: ['pg'] });
  const sdk = new NodeSDK({
    serviceName: options.env.OTEL_SERVICE_NAME || options.service,
    // Without processors of its own, the SDK builds the OTLP exporter the standard variables
    // describe (OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf by default, http/json, grpc).
    ...(options.spanProcessors ? { spanProcessors: options.spanProcessors } : {}),
    // Traces only: metrics are Prometheus's (libs/observability), logs are pino's on stdout.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      // A query outside any trace (the relay's polling, the retention) makes no trace of its own.
      new PgInstrumentation({ requireParentSpan: true }),
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        // One span per request and one for its handler; a span per hook is noise (and cost).
        instrumentHooks: false,
        // Named as the HTTP conventions say, `<method> <route>`, rather than `request`.
        requestHook: (span, request) =>
          span.updateName(`${request.method} ${request.routeOptions.url ?? request.url}`),
        ignorePaths: ({ url }) => UNTRACED_PATHS.has(url.split('?')[0] ?? url),
      }),
    ],
  });
  sdk.start();
  return { enabled: true, shutdown: () => sdk.shutdown() };
}
