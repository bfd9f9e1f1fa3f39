// The composition root of inventory. runService handles the signals, the last-resort handler and
// the exit codes, as in every service; main.ts starts tracing first, then imports this file.
import { readConfigOrExit, runService } from '@switchboard/lifecycle';
import { createLogger, createMetricsRegistry } from '@switchboard/observability';
import type { Telemetry } from '@switchboard/telemetry/start';
import { createApp } from './app.js';
import { readConfig } from './config.js';

export async function runInventory(env: NodeJS.ProcessEnv, telemetry: Telemetry): Promise<void> {
  const config = readConfigOrExit('inventory', () => readConfig(env));
  const logger = createLogger({ service: 'inventory', level: config.logLevel });
  const registry = createMetricsRegistry({ service: 'inventory' });

  await runService({
    name: 'inventory',
    logger,
    app: createApp({ config, logger, registry }),
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    // The spans of the last calls are sent before the exit.
    afterStop: () => telemetry.shutdown(),
  });
}
