// The composition root of purchase: the only file that reads the environment. runService
// handles the signals, the last-resort handler and the exit codes, as in every service.
import { readConfigOrExit, runService } from '@switchboard/lifecycle';
import { createLogger, createMetricsRegistry } from '@switchboard/observability';
import { createApp } from './app.js';
import { readConfig } from './config.js';

const config = readConfigOrExit('purchase', () => readConfig(process.env));
const logger = createLogger({ service: 'purchase', level: config.logLevel });
const registry = createMetricsRegistry({ service: 'purchase' });

await runService({
  name: 'purchase',
  logger,
  app: createApp({ config, logger, registry }),
  shutdownTimeoutMs: config.shutdownTimeoutMs,
});
