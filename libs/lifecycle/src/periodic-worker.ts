/**
 * The loop behind every background job of the services: the outbox relay, the outbox and
 * inbox retention, inventory's reservation sweeper. One round, a pause, the next round, until
 * stopped. Written once because its stop is easy to get wrong: a stop that comes during a
 * round must wait for that round, must not then sit out the pause, and must never let
 * another round start.
 */
export interface WorkerLogger {
  info(object: object, message: string): void;
  error(object: object, message: string): void;
}

/** The pause before the next round. */
export interface Pause {
  /** 0 starts the next round at once (say, a full batch: more work is waiting). */
  ms: number;
  /**
   * Whether `wake()` may cut it short; default true. A backoff after a failure holds: the
   * new work would fail the same way.
   */
  wakeable?: boolean;
}

export interface PeriodicWorkerOptions {
  /** Names the worker in its logs. */
  name: string;
  logger: WorkerLogger;
  /**
   * One round of work; resolves to the pause before the next. `signal` is aborted by stop():
   * a round made of several steps (batches) ends after the step in progress.
   */
  round(signal: AbortSignal): Promise<Pause>;
  /**
   * A round threw: the worker logs the error and goes on; this counts it (a metric) and
   * says how long to pause. It must not throw.
   */
  onError(error: unknown): Pause;
}

export interface PeriodicWorker {
  /** Starts the loop in the background: the first round runs at once. */
  start(): void;
  /**
   * Says new work is waiting: a wakeable pause ends now, and a round in progress is followed
   * by the next at once rather than by its pause.
   */
  wake(): void;
  /** Waits for the round in progress, if any, and ends the loop; no round starts after it. */
  stop(): Promise<void>;
}

export function createPeriodicWorker(options: PeriodicWorkerOptions): PeriodicWorker {
  const { name, logger } = options;
  const stopped = new AbortController();
  let running: Promise<void> | undefined;
  /** Set by wake(); cleared when a round starts, so it speaks of work that round may miss. */
  let woken = false;
  /** Ends the pause the loop is in, if it is in one that wake() may cut short. */
  let endWakeablePause: (() => void) | undefined;

  async function run(): Promise<void> {
    while (!stopped.signal.aborted) {
      woken = false;
      let pause: Pause;
      try {
        pause = await options.round(stopped.signal);
      } catch (error) {
        logger.error({ err: error, worker: name }, `${name}: round failed; trying again later`);
        pause = options.onError(error);
      }
      const wakeable = pause.wakeable ?? true;
      // Work announced during the round may have come too late for it: go on at once.
      if (wakeable && woken) continue;
      await sleep(pause.ms, wakeable);
    }
  }

  /** Resolves after `ms`, at a stop, or (if wakeable) at a wake(); never rejects. */
  function sleep(ms: number, wakeable: boolean): Promise<void> {
    // A stop that came during the round has nothing to cut short: do not start the pause.
    if (ms <= 0 || stopped.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const end = () => {
        clearTimeout(timer);
        stopped.signal.removeEventListener('abort', end);
        endWakeablePause = undefined;
        resolve();
      };
      const timer = setTimeout(end, ms);
      stopped.signal.addEventListener('abort', end);
      if (wakeable) endWakeablePause = end;
    });
  }

  return {
    start() {
      if (running) return;
      running = run();
      logger.info({ worker: name }, `${name} started`);
    },
    wake() {
      woken = true;
      endWakeablePause?.();
    },
    async stop() {
      stopped.abort();
      await running;
      logger.info({ worker: name }, `${name} stopped`);
    },
  };
}
