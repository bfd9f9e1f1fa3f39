// The composition root of purchase. runService handles the signals, the last-resort handler and
// the exit codes, as in every service; main.ts starts tracing first, then imports this file.
import { readConfigOrExit, runService } from '@switchboard/lifecycle';
import { createLogger, createMetricsRegistry } from '@switchboard/observability';
import type { Telemetry } from '@switchboard/telemetry/start';
import { createApp } from './app.js';
import { readConfig } from './config.js';

export async function runPurchase(env: NodeJS.ProcessEnv, telemetry: Telemetry): Promise<void> {
  const config = readConfigOrExit('purchase', () => readConfig(env));
  const logger = createLogger({ service: 'purchase', level: config.logLevel });
  const registry = createMetricsRegistry({ service: 'purchase' });

  await runService({
    name: 'purchase',
    logger,
    app: createApp({ config, logger, registry }),
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    // The spans of the last calls are sent before the exit.
    afterStop: () => telemetry.shutdown(),
  });
}
