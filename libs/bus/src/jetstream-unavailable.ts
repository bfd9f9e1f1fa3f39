import { setTimeout as sleep } from 'node:timers/promises';
import { JetStreamApiError } from '@nats-io/jetstream';
import { errors, RequestError } from '@nats-io/transport-node';
import { backoff } from '@switchboard/resilience';
import type { Bus } from './connection.js';

/** How long a start keeps asking a JetStream that does not answer yet, by default. */
export const JETSTREAM_START_PATIENCE_MS = 120_000;
/** The pause between two attempts: short at first, at most a few seconds. */
const RETRY_WAIT = { initialMs: 250, maxMs: 5_000 };

/** JetStream's "cluster temporarily unavailable" (no metadata leader yet). */
const CLUSTER_NOT_AVAILABLE = 10008;
/** JetStream's "no suitable peers for placement": the cluster lacks the nodes' count yet. */
const CLUSTER_NO_PEERS = 10005;

/**
 * An error that says JetStream cannot answer yet, not that the call is wrong: the API request
 * timed out or found no responder (a cluster still electing its metadata leader, or a server
 * too loaded to answer in time), or the cluster says it is unavailable or still lacks the
 * peers a replicated stream needs (nodes still joining).
 */
export function isJetStreamUnavailable(error: unknown): boolean {
  if (error instanceof errors.TimeoutError) return true;
  if (error instanceof RequestError && error.isNoResponders()) return true;
  // The JetStream client turns "no responders" into JetStreamNotEnabled, keeping the cause.
  if (error instanceof Error && error.name === 'JetStreamNotEnabled') {
    return error.cause instanceof RequestError && error.cause.isNoResponders();
  }
  return (
    error instanceof JetStreamApiError &&
    (error.code === CLUSTER_NOT_AVAILABLE || error.code === CLUSTER_NO_PEERS)
  );
}

/**
 * Runs `attempt` (an idempotent JetStream API call, such as provisioning a stream) until it
 * succeeds, again after each error that says JetStream cannot answer yet, with backoff, for
 * `patienceMs` at most: a service that starts beside a JetStream cluster still forming, or on
 * a loaded machine, waits for it instead of failing its start (ADR 25). Other errors, and the
 * last one once the patience is spent, are thrown.
 */
export async function whileJetStreamUnavailable<T>(
  bus: Bus,
  what: string,
  attempt: () => Promise<T>,
  patienceMs: number = JETSTREAM_START_PATIENCE_MS,
): Promise<T> {
  const giveUpAt = Date.now() + patienceMs;
  for (let retry = 1; ; retry += 1) {
    try {
      return await attempt();
    } catch (error) {
      const waitMs = backoff(retry, RETRY_WAIT);
      if (!isJetStreamUnavailable(error) || Date.now() + waitMs > giveUpAt) throw error;
      bus.logger.warn(
        { err: error, what, retry, waitMs },
        'JetStream cannot answer yet; trying again',
      );
      await sleep(waitMs);
    }
  }
}
