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
  const sink = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(200).end());
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(sink.address() as AddressInfo).port}`,
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: String(ratio),
  };
  // The SDK reads its settings from the environment: the bench's own, too.
  Object.assign(process.env, env);
  const telemetry: Telemetry = await startTelemetry({ service: 'bench', env: process.env });
  return {
    env,
    label: `${Math.round(ratio * 100)} %`,
    async stop() {
      await telemetry.shutdown();
      sink.closeAllConnections();
      await new Promise((resolve) => sink.close(resolve));
    },
  };
}
