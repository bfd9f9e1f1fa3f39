import { describe, expect, it } from 'vitest';
import { currentTraceparent } from '../src/index.js';
import { startTelemetry, tracingEnabled } from '../src/start-telemetry.js';

describe('tracingEnabled', () => {
  it('is off unless an OTLP endpoint is set, and OTEL_SDK_DISABLED wins', () => {
    expect(tracingEnabled({})).toBe(false);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' })).toBe(true);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://x:4318/v1/traces' })).toBe(
      true,
    );
    expect(
      tracingEnabled({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318',
        OTEL_SDK_DISABLED: ' TRUE ',
      }),
    ).toBe(false);
  });
});

describe('startTelemetry with tracing off', () => {
  it('starts nothing: not enabled, no trace context to store, and a stop that does nothing', async () => {
    const telemetry = await startTelemetry({ service: 'test', env: {} });

    expect(telemetry.enabled).toBe(false);
    expect(currentTraceparent()).toBeUndefined();
    await expect(telemetry.shutdown()).resolves.toBeUndefined();
  });
});
