import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTelemetry, type Telemetry } from '@switchboard/telemetry/start';

/**
 * BENCH_TRACING (ADR 17, issue 13 point 6): unset or `off`, tracing stays off everywhere; a
 * ratio in (0, 1], e.g. `1` or `0.1`, turns it on in the bench process (the clients' spans)
 * and in the services it starts, sampling that share of the calls. The spans go over OTLP
 * (protobuf, in batches, as in production) to a receiver here that reads and drops them.
 */
export interface BenchTracing {
  /** What the services started by the bench get in their environment. */
  env: Record<string, string>;
  /** A label for the results: `off`, `100 %`, `10 %`. */
  label: string;
  stop(): Promise<void>;
}

/**
 * A real OTLP/HTTP endpoint that reads each export request whole and answers 200, dropping
 * the spans: the exporters pay what they pay against a collector (encoding, the HTTP request),
 * and nothing here decodes. It counts the requests and their bytes, to show spans did arrive.
 */
export interface OtlpSink {
  endpoint: string;
  received(): { requests: number; bytes: number };
  close(): Promise<void>;
}

export async function startOtlpSink(): Promise<OtlpSink> {
  let requests = 0;
  let bytes = 0;
  const sink = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => (bytes += chunk.length));
    request.on('end', () => {
      requests += 1;
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(sink.address() as AddressInfo).port}`,
    received: () => ({ requests, bytes }),
    async close() {
      sink.closeAllConnections();
      await new Promise((resolve) => sink.close(resolve));
    },
  };
}

/** The standard variables that turn tracing on, sampling `ratio` of the traces it starts. */
export function tracingEnv(endpoint: string, ratio: number): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: String(ratio),
  };
}

/** `1` or `0.1` as the tables print it: `100 %`, `10 %`. */
export function ratioLabel(ratio: number): string {
  return `${Math.round(ratio * 100)} %`;
}

export async function startBenchTracing(setting: string | undefined): Promise<BenchTracing> {
  if (setting === undefined || setting === '' || setting === 'off') {
    return { env: {}, label: 'off', stop: async () => {} };
  }
  const ratio = Number(setting);
  if (!(ratio > 0 && ratio <= 1)) {
    throw new Error(
      `BENCH_TRACING must be off or a ratio in (0, 1], not ${JSON.stringify(setting)}`,
    );
  }
  const sink = await startOtlpSink();
  const env = tracingEnv(sink.endpoint, ratio);
  // The SDK reads its settings from the environment: the bench's own, too.
  Object.assign(process.env, env);
  const telemetry: Telemetry = await startTelemetry({ service: 'bench', env: process.env });
  return {
    env,
    label: ratioLabel(ratio),
    async stop() {
      await telemetry.shutdown();
      await sink.close();
    },
  };
}
