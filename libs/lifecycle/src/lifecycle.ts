/**
 * A process's resources stop in the reverse order of their start, inside one deadline.
 * Register each stop right after its start succeeds, so a failed start-up stops exactly what
 * was started, and a stop that comes during the start (a SIGTERM while NATS is still being
 * waited for) stops what was started too.
 */
export interface LifecycleLogger {
  info(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface StopResult {
  /** Every stop finished, without error, inside the deadline. */
  clean: boolean;
  timedOut: boolean;
  failed: string[];
}

/** Thrown by `onStop` when the stop began while the start was still under way. */
export class StoppedWhileStartingError extends Error {
  constructor(step: string) {
    super(`stopped while starting (at ${step})`);
    this.name = 'StoppedWhileStartingError';
  }
}

export interface Lifecycle {
  /**
   * Registers the stop of what was just started. If the lifecycle is already stopping (the
   * stop came during the start), the stop runs at once instead and this rejects with
   * StoppedWhileStartingError, so the start ends there: await it after every start step.
   */
  onStop(name: string, stop: () => Promise<void> | void): Promise<void>;
  /** Runs the stops once; later calls return the same result. */
  stop(reason: string): Promise<StopResult>;
  readonly stopping: boolean;
}

export function createLifecycle(options: {
  logger: LifecycleLogger;
  timeoutMs: number;
}): Lifecycle {
  const { logger, timeoutMs } = options;
  const stops: { name: string; stop: () => Promise<void> | void }[] = [];
  let result: Promise<StopResult> | undefined;

  async function runStops(reason: string): Promise<StopResult> {
    logger.info({ reason, timeoutMs }, 'stopping');
    const failed: string[] = [];
    const all = (async () => {
      for (const { name, stop } of stops.toReversed()) {
        const started = performance.now();
        try {
          await stop();
          logger.info({ step: name, ms: Math.round(performance.now() - started) }, 'stopped');
        } catch (error) {
          failed.push(name);
          logger.error({ step: name, err: error }, 'stop failed');
        }
      }
    })();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([all.then(() => 'done' as const), deadline]);
    clearTimeout(timer);
    const timedOut = outcome === 'timeout';
    if (timedOut) logger.error({ timeoutMs }, 'stop deadline passed');
    return { clean: !timedOut && failed.length === 0, timedOut, failed };
  }

  return {
    async onStop(name, stop) {
      if (result) {
        // The stops already ran (or are running) without this one: it is the start's to run.
        await stop();
        logger.info({ step: name }, 'stopped (it finished starting after the stop began)');
        throw new StoppedWhileStartingError(name);
      }
      stops.push({ name, stop });
    },
    stop(reason) {
      result ??= runStops(reason);
      return result;
    },
    get stopping() {
      return result !== undefined;
    },
  };
}
