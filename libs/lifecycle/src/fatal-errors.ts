/**
 * The last resort for an exception that escaped every catch (an `uncaughtException` or an
 * `unhandledRejection`): the process is in a state nobody planned for, so it does not run on.
 * It logs the error, turns not ready at once (balancers and clients stop sending), tries the
 * graceful stop for at most `graceMs` (calls in flight finish, listeners close cleanly), and
 * exits with FATAL_EXIT_CODE so the supervisor (compose `restart: unless-stopped`, Kubernetes)
 * starts a fresh process. A second fatal error during that stop exits at once. ADR 0010.
 *
 * A service's main.ts installs it, as only main.ts handles process events:
 *   process.on('uncaughtException', (error) => onFatal(error, 'uncaughtException'));
 *   process.on('unhandledRejection', (reason) => onFatal(reason, 'unhandledRejection'));
 */
export interface FatalErrorOptions {
  logger: { fatal(object: object, message: string): void };
  /** Turns /readyz 503 (and gRPC health NOT_SERVING); must not throw, is guarded anyway. */
  setNotReady(): void;
  /** The process's graceful stop. */
  stop(): Promise<unknown>;
  /** How long the stop may take before the process exits anyway. */
  graceMs: number;
  exit(code: number): void;
}

/** EX_SOFTWARE of sysexits.h: an internal software error, told apart from a bad config (1). */
export const FATAL_EXIT_CODE = 70;

export type FatalErrorHandler = (error: unknown, origin: string) => void;

export function createFatalErrorHandler(options: FatalErrorOptions): FatalErrorHandler {
  const { logger, graceMs } = options;
  let handling = false;

  return (error, origin) => {
    if (handling) {
      logger.fatal({ err: error, origin }, 'another fatal error while stopping: exiting now');
      options.exit(FATAL_EXIT_CODE);
      return;
    }
    handling = true;
    logger.fatal({ err: error, origin, graceMs }, 'fatal error: not ready, stopping, then exiting');
    try {
      options.setNotReady();
    } catch {
      // Nothing more to do about readiness; the exit below still comes.
    }
    let timer: NodeJS.Timeout | undefined;
    const gracePassed = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    const stopped = Promise.resolve()
      .then(() => options.stop())
      .catch(() => {
        // The stop logs its own failures; the process exits either way.
      });
    void Promise.race([stopped, gracePassed]).then(() => {
      clearTimeout(timer);
      options.exit(FATAL_EXIT_CODE);
    });
  };
}
