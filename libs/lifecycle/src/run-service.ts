import { ConfigError } from '@switchboard/config';
import { FATAL_EXIT_CODE, createFatalErrorHandler } from './fatal-errors.js';

/**
 * How a service process ends, the same in every service. Supervisors and scripts read them:
 * compose restarts on any non-zero code, and 70 tells a crash from a stop in `docker ps`.
 */
export const EXIT_CODES = {
  /** Stopped on a signal: every step finished, without error, inside the deadline. */
  stopped: 0,
  /**
   * A bad configuration, a failed start, or a stop with a failed step or past its deadline.
   */
  failed: 1,
  /** An exception escaped every catch (ADR 10): EX_SOFTWARE of sysexits.h. */
  fatal: FATAL_EXIT_CODE,
  /**
   * A second SIGTERM or SIGINT during the stop: exit now, without waiting for it. 128 + 2,
   * the shell's code for an interrupted command (Ctrl-C twice), for either signal, so a
   * script checks one code.
   */
  secondSignal: 130,
} as const;

export interface ServiceLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  fatal(object: object, message: string): void;
}

/** What a service's app.ts builds: no environment, no signals, no exit. */
export interface ServiceApp {
  /** Starts everything in order; a start that fails stops what it started, then throws. */
  start(): Promise<unknown>;
  /** The graceful stop, inside the service's deadline; runs once. */
  stop(): Promise<{ clean: boolean }>;
  /** Turns /readyz 503 (and gRPC health NOT_SERVING) at once. */
  setNotReady(): void;
}

export interface RunServiceOptions {
  /** The service's name, in its log lines. */
  name: string;
  logger: ServiceLogger;
  app: ServiceApp;
  /**
   * SHUTDOWN_TIMEOUT_MS, the deadline the app's own stop keeps: the last-resort handler
   * gives the stop as long, and a start cut short by a signal gets as long to end.
   */
  shutdownTimeoutMs: number;
  /**
   * Runs after the app stopped, before the exit: sends what is still buffered (the spans of
   * libs/telemetry). Bounded by shutdownTimeoutMs; a failure is logged, the exit code kept.
   */
  afterStop?: () => Promise<void>;
}

/**
 * Reads the configuration; a bad one (ConfigError, every bad variable named) is printed on
 * stderr and the process exits with EXIT_CODES.failed before anything started.
 */
export function readConfigOrExit<Config>(name: string, read: () => Config): Config {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${name}: ${error.message}\n`);
    process.exit(EXIT_CODES.failed);
  }
}

/**
 * Runs a service's app as a process: the only place that handles process events and exits
 * (ADR 8, ADR 10).
 * - SIGTERM or SIGINT: the graceful stop, then exit 0 if it was clean, else 1.
 * - A second SIGTERM or SIGINT during that stop: exit 130 at once.
 * - A signal during the start: the stop runs what was started so far, the start ends at its
 *   next step (StoppedWhileStartingError), and the process exits as after any stop.
 * - An exception that escaped every catch: log, not ready, the stop for at most
 *   `shutdownTimeoutMs`, exit 70.
 * - A start that fails (nothing stopped it): log it, exit 1; the app stopped what it started.
 */
export async function runService(options: RunServiceOptions): Promise<void> {
  const { name, logger, app, shutdownTimeoutMs } = options;
  const exit = (code: number) => process.exit(code);

  const onFatal = createFatalErrorHandler({
    logger,
    setNotReady: () => app.setNotReady(),
    stop: () => app.stop(),
    graceMs: shutdownTimeoutMs,
    exit,
  });
  process.on('uncaughtException', (error) => onFatal(error, 'uncaughtException'));
  process.on('unhandledRejection', (reason) => onFatal(reason, 'unhandledRejection'));

  let stopping = false;
  let starting: Promise<unknown> = Promise.resolve();

  async function stopThenExit(): Promise<void> {
    const result = await app.stop();
    // A start still under way ends at its next step, after stopping what it started last.
    const startEnded = await settlesWithin(starting, shutdownTimeoutMs);
    logger.info({ ...result, startEnded }, `${name} stopped`);
    if (options.afterStop) {
      const flushed = await settlesWithin(
        options
          .afterStop()
          .catch((error: unknown) =>
            logger.warn({ err: error }, 'could not finish after the stop'),
          ),
        shutdownTimeoutMs,
      );
      if (!flushed) logger.warn({}, 'the work after the stop did not end in time');
    }
    exit(result.clean && startEnded ? EXIT_CODES.stopped : EXIT_CODES.failed);
  }

  function onSignal(signal: NodeJS.Signals): void {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without waiting for the stop');
      exit(EXIT_CODES.secondSignal);
      return;
    }
    stopping = true;
    logger.info({ signal }, 'signal received: stopping');
    void stopThenExit();
  }
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  starting = app.start();
  try {
    await starting;
  } catch (error) {
    // A start cut short by a signal is that signal's stop, which exits by itself.
    if (stopping) return;
    logger.fatal({ err: error }, `${name} failed to start`);
    exit(EXIT_CODES.failed);
  }
}

/** Whether `promise` settles (either way) within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = promise.then(
    () => true as const,
    () => true as const,
  );
  const outcome = await Promise.race([settled, timedOut]);
  clearTimeout(timer);
  return outcome;
}
