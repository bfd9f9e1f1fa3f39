import { ConfigError } from '@switchboard/config';
import { createFatalErrorHandler } from '@switchboard/lifecycle';
import { createLogger, createMetricsRegistry } from '@switchboard/observability';
import { createApp } from './app.js';
import { readConfig, type InventoryConfig } from './config.js';

// The composition root: the only module that reads the environment, handles signals or exits.

let config: InventoryConfig;
try {
  config = readConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`inventory: ${error.message}\n`);
  process.exit(1);
}

const logger = createLogger({ service: 'inventory', level: config.logLevel });
const registry = createMetricsRegistry({ service: 'inventory' });
const app = createApp({ config, logger, registry });

// The last resort for an exception that escaped every catch: log it, turn not ready, stop
// within the shutdown timeout and exit for a clean restart (ADR 0010).
const onFatal = createFatalErrorHandler({
  logger,
  setNotReady: () => app.setNotReady(),
  stop: () => app.stop(),
  graceMs: config.shutdownTimeoutMs,
  exit: (code) => process.exit(code),
});
process.on('uncaughtException', (error) => onFatal(error, 'uncaughtException'));
process.on('unhandledRejection', (reason) => onFatal(reason, 'unhandledRejection'));

let stopping = false;
function onSignal(signal: NodeJS.Signals): void {
  if (stopping) {
    logger.warn({ signal }, 'second signal: exiting without waiting for the stop');
    process.exit(1);
  }
  stopping = true;
  logger.info({ signal }, 'signal received: stopping');
  void app.stop().then((result) => {
    logger.info(result, 'stopped');
    process.exit(result.clean ? 0 : 1);
  });
}
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);

try {
  await app.start();
} catch (error) {
  // A start cut short by a signal is that signal's stop, which exits by itself.
  if (!stopping) {
    logger.fatal({ err: error }, 'inventory failed to start');
    process.exit(1);
  }
}
