// The composition root of inventory: the only file that reads the environment. runService
// handles the signals, the last-resort handler and the exit codes, as in every service.
import { readConfigOrExit, runService } from '@switchboard/lifecycle';
import { createLogger, createMetricsRegistry } from '@switchboard/observability';
import { createApp } from './app.js';
import { readConfig } from './config.js';

const config = readConfigOrExit('inventory', () => readConfig(process.env));
const logger = createLogger({ service: 'inventory', level: config.logLevel });
const registry = createMetricsRegistry({ service: 'inventory' });

await runService({
  name: 'inventory',
  logger,
  app: createApp({ config, logger, registry }),
  shutdownTimeoutMs: config.shutdownTimeoutMs,
});
