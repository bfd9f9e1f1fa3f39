import type { ServiceDefinition } from './types.js';

/** How the client treats one method of the service. */
export interface MethodPolicy {
  /**
   * The method may safely run twice (a read, or a write keyed by an id such as Reserve by
   * order id). Only such methods are retried; a retry of anything else could do it twice.
   */
  idempotent?: boolean;
  /**
   * Wait for a connection until the deadline instead of failing fast while the peer is
   * unreachable. For background work that may outlive a reconnect; never for a user waiting.
   */
  waitForReady?: boolean;
}

export type MethodPolicies<S extends ServiceDefinition> = Partial<Record<keyof S, MethodPolicy>>;

/** gRPC's retryPolicy (gRFC A6); grpc-js applies it, with ±20 % jitter on each backoff. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  backoffMultiplier: number;
  /** Only statuses that say the call did not run, or may safely run again. */
  retryableStatusCodes: string[];
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  initialBackoffMs: 50,
  maxBackoffMs: 500,
  backoffMultiplier: 2,
  // UNAVAILABLE: the call never reached a server or the connection broke under it (a replica
  // draining, a restart). RESOURCE_EXHAUSTED: the server's admission control refused it before
  // starting it (OVERLOADED, ADR 11); after a backoff, round_robin may send it to a replica
  // with room. DEADLINE_EXCEEDED is never retried: the deadline is the whole call's, and grpc-js
  // starts no attempt after it.
  retryableStatusCodes: ['UNAVAILABLE', 'RESOURCE_EXHAUSTED'],
};

/**
 * The gRPC service config of a channel: round_robin over every address the name resolves to
 * (so new replicas get traffic once the client re-resolves), and a retryPolicy on the
 * idempotent methods only. Retries stay inside the call's deadline, and a token bucket
 * (retryThrottling) stops them when most calls fail, so a peer in trouble is not hit by a
 * retry storm.
 */
export function serviceConfigFor<S extends ServiceDefinition>(
  service: S,
  methods: MethodPolicies<S>,
  retry: RetryPolicy = DEFAULT_RETRY_POLICY,
): string {
  const retried = Object.entries(service)
    .filter(([name]) => methods[name]?.idempotent)
    .map(([, method]) => {
      const [serviceName = '', methodName = ''] = method.path.slice(1).split('/');
      return { service: serviceName, method: methodName };
    });
  const config = {
    loadBalancingConfig: [{ round_robin: {} }],
    methodConfig:
      retried.length === 0
        ? []
        : [
            {
              name: retried,
              retryPolicy: {
                maxAttempts: retry.maxAttempts,
                initialBackoff: seconds(retry.initialBackoffMs),
                maxBackoff: seconds(retry.maxBackoffMs),
                backoffMultiplier: retry.backoffMultiplier,
                retryableStatusCodes: retry.retryableStatusCodes,
              },
            },
          ],
    retryThrottling: { maxTokens: 10, tokenRatio: 0.1 },
  };
  return JSON.stringify(config);
}

/** The service config's duration format: "0.05s". */
function seconds(ms: number): string {
  return `${ms / 1000}s`;
}
