// The composition root of purchase: the only file that reads the environment, handles
// signals or exits.
import { ConfigError } from '@switchboard/config';
import { createFatalErrorHandler } from '@switchboard/lifecycle';
import { createLogger, createMetricsRegistry } from '@switchboard/observability';
import { createApp } from './app.js';
import { readConfig } from './config.js';

let config;
try {
  config = readConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`purchase: ${error.message}\n`);
  process.exit(1);
}

const logger = createLogger({ service: 'purchase', level: config.logLevel });
const registry = createMetricsRegistry({ service: 'purchase' });
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

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    // A second signal means "now": exit without waiting for the graceful stop.
    for (const again of ['SIGTERM', 'SIGINT'] as const)
      process.once(again, () => process.exit(130));
    void app.stop().then(({ clean }) => process.exit(clean ? 0 : 1));
  });
}

try {
  await app.start();
} catch (error) {
  logger.fatal({ err: error }, 'purchase failed to start');
  process.exit(1);
}
