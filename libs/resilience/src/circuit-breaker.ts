import { AppError, isAppError } from '@switchboard/errors';
import Opossum from 'opossum';
import type { Registry } from 'prom-client';
import type { CircuitState } from './circuit-state.js';
import { circuitBreakerMetrics } from './metrics.js';

export interface CircuitBreakerLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

export interface CircuitBreakerOptions {
  /** The peer it guards ("inventory"): named in errors, logs and the metrics' `breaker` label. */
  name: string;
  registry: Registry;
  logger: CircuitBreakerLogger;
  /**
   * Which errors say "the peer is in trouble". Default: UNAVAILABLE and DEADLINE_EXCEEDED.
   * Answers of a healthy peer (not found, short stock, invalid argument) never open it.
   */
  isFailure?: (error: unknown) => boolean;
  /** Opens when more than this share of the calls in the window failed; default 50. */
  failureThresholdPercent?: number;
  /** ...and the window holds at least this many calls, so one failure alone never opens it; default 5. */
  minimumCalls?: number;
  /** The rolling window the share is counted over; default 10 s. */
  windowMs?: number;
  /** How long it stays open before one trial call may pass (half-open); default 2 s. */
  resetTimeoutMs?: number;
}

export interface CircuitBreaker {
  readonly name: string;
  readonly state: CircuitState;
  /**
   * Runs `call` unless the circuit is open. While open it rejects at once, without touching
   * the network, with AppError UNAVAILABLE; after `resetTimeoutMs` one trial call passes and
   * its outcome closes the circuit or opens it again.
   */
  run<T>(call: () => Promise<T>): Promise<T>;
  /** Stops its timers; later calls run unguarded. */
  close(): void;
}

/** Peer-level trouble: unreachable or too slow. */
export function isPeerFailure(error: unknown): boolean {
  return isAppError(error) && (error.code === 'UNAVAILABLE' || error.code === 'DEADLINE_EXCEEDED');
}

/**
 * A circuit breaker around the calls to one peer, built on opossum. While the peer is down,
 * callers get an immediate UNAVAILABLE instead of each waiting for a connection or a deadline,
 * and the peer is not hammered while it comes back; the circuit closes by itself when a trial
 * call succeeds.
 */
export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  const { name, logger, isFailure = isPeerFailure } = options;
  const metrics = circuitBreakerMetrics(options.registry, name);

  const breaker = new Opossum((call: () => Promise<unknown>) => call(), {
    name,
    // The calls carry their own deadline; a second timer here would only disagree with it.
    timeout: false,
    errorThresholdPercentage: options.failureThresholdPercent ?? 50,
    volumeThreshold: options.minimumCalls ?? 5,
    rollingCountTimeout: options.windowMs ?? 10_000,
    resetTimeout: options.resetTimeoutMs ?? 2_000,
    // opossum counts an error as a failure unless this filter returns true.
    errorFilter: (error: unknown) => !isFailure(error),
    enableSnapshots: false,
  });

  let state: CircuitState = 'closed';
  const enter = (next: CircuitState) => {
    state = next;
    metrics.entered(next);
  };
  breaker.on('open', () => {
    enter('open');
    logger.warn(
      { breaker: name, resetTimeoutMs: options.resetTimeoutMs ?? 2_000 },
      'circuit open: failing fast',
    );
  });
  breaker.on('halfOpen', () => {
    enter('half_open');
    logger.info({ breaker: name }, 'circuit half-open: letting one trial call through');
  });
  breaker.on('close', () => {
    enter('closed');
    logger.info({ breaker: name }, 'circuit closed: calls flow again');
  });

  return {
    name,
    get state() {
      return state;
    },
    async run<T>(call: () => Promise<T>): Promise<T> {
      try {
        return (await breaker.fire(call)) as T;
      } catch (error) {
        if (isOpenCircuitError(error)) {
          metrics.rejected();
          throw new AppError('UNAVAILABLE', `${name}: circuit open after repeated failures`, {
            cause: error,
          });
        }
        throw error;
      }
    },
    close() {
      breaker.shutdown();
    },
  };
}

/** opossum's rejection while open (or half-open with the trial call under way). */
function isOpenCircuitError(error: unknown): boolean {
  return error instanceof Error && (error as Error & { code?: string }).code === 'EOPENBREAKER';
}
