import { setTimeout as sleep } from 'node:timers/promises';
import { REQUEST_ID_HEADER, currentRequestId } from '@switchboard/observability';
import { errors, headers, type Msg } from '@nats-io/transport-node';
import { AppError, toAppError } from '@switchboard/errors';
import { backoff } from '@switchboard/resilience';
import { SpanKind, inSpan } from '@switchboard/telemetry';
import type { Bus } from './connection.js';
import { requestMetrics } from './metrics.js';
import { fromNatsErrorReply } from './nats-error-headers.js';
import { TIMEOUT_HEADER } from './request-reply-protocol.js';
import { injectTraceHeaders, messagingAttributes, messagingSpanName } from './trace-headers.js';

export interface RequestOptions {
  /** When to give up; the request timeout and the server's deadline both come from it. */
  deadline: Date;
  /** Cancels the wait, e.g. when the HTTP client that asked went away. */
  signal?: AbortSignal;
  /** The peer's name in errors ("inventory: no responders"). */
  peerName: string;
  /**
   * Send again when no responder answered, or the service refused the request before starting
   * it (OVERLOADED); only for idempotent requests. Default: never.
   */
  retry?: RequestRetryPolicy;
}

/**
 * The numbers of gRPC's retryPolicy, so that both transports retry alike: pass
 * `DEFAULT_RETRY_POLICY` of `@switchboard/grpc` (the bus does not depend on it).
 */
export interface RequestRetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  backoffMultiplier: number;
}

/**
 * One request to a service endpoint; resolves with the reply's payload, rejects only with
 * AppError. While the connection is down it fails at once (UNAVAILABLE) rather than holding
 * the caller until the deadline, as the gRPC client does.
 *
 * With `retry`, a request that no responder answered (a replica restarting, a service not
 * subscribed yet) or that the service refused before starting it (OVERLOADED: its admission
 * control, as gRPC's RESOURCE_EXHAUSTED) is sent again after a jittered, growing backoff.
 * Nothing else is retried: a timeout may mean the server is still doing the work. No pause runs past the deadline and an
 * abort ends a pause at once; the caller sees the last attempt's error. The duration metric
 * times the whole call, backoffs included, as the gRPC client's does; each attempt after the
 * first is counted in `nats_request_retries_total`.
 */
export function natsRequest(
  bus: Bus,
  subject: string,
  payload: Uint8Array,
  options: RequestOptions,
): Promise<Uint8Array> {
  // One PRODUCER span for the whole call, retries included; each attempt carries its context.
  return inSpan(
    messagingSpanName('send', subject),
    () => ({
      kind: SpanKind.PRODUCER,
      attributes: () => messagingAttributes('send', subject),
    }),
    () => requestWithRetries(bus, subject, payload, options),
  );
}

async function requestWithRetries(
  bus: Bus,
  subject: string,
  payload: Uint8Array,
  options: RequestOptions,
): Promise<Uint8Array> {
  const { deadline, signal, retry } = options;
  const metrics = requestMetrics(bus.registry);
  const startedAt = performance.now();
  const fail = (error: AppError): never => {
    metrics.observe('client', subject, error.code, startedAt);
    throw error;
  };
  for (let attempt = 1; ; attempt += 1) {
    let error: AppError;
    try {
      const reply = await requestOnce(bus, subject, payload, options);
      metrics.observe('client', subject, 'OK', startedAt);
      return reply;
    } catch (thrown) {
      error = toAppError(thrown);
    }
    // ±20 % on each pause, as grpc-js does, so that clients retrying together spread out.
    const pauseMs =
      retry === undefined
        ? 0
        : backoff(attempt, {
            initialMs: retry.initialBackoffMs,
            maxMs: retry.maxBackoffMs,
            multiplier: retry.backoffMultiplier,
          });
    const retrying =
      retry !== undefined &&
      attempt < retry.maxAttempts &&
      (isNoResponders(error) || error.code === 'OVERLOADED') &&
      // A pause that ends at the deadline leaves no time for another attempt: stop now.
      Date.now() + pauseMs < deadline.getTime();
    if (!retrying) return fail(error);
    try {
      // Rejects at once if the signal aborts, before or during the pause.
      await sleep(pauseMs, undefined, { signal });
    } catch {
      return fail(new AppError('CANCELLED', 'the call was cancelled'));
    }
    metrics.retries.inc({ subject });
  }
}

/** No responder was subscribed: the request reached no server, so nothing ran. */
function isNoResponders(error: AppError): boolean {
  return error.cause instanceof errors.RequestError && error.cause.isNoResponders();
}

/** One attempt of natsRequest: rejects with AppError; the caller records the metrics. */
async function requestOnce(
  bus: Bus,
  subject: string,
  payload: Uint8Array,
  options: RequestOptions,
): Promise<Uint8Array> {
  const { peerName, signal } = options;
  if (signal?.aborted) throw new AppError('CANCELLED', 'the call was cancelled before it started');
  const timeoutMs = options.deadline.getTime() - Date.now();
  if (timeoutMs <= 0) throw new AppError('DEADLINE_EXCEEDED', `${peerName}: deadline exceeded`);
  if (!bus.isConnected()) throw new AppError('UNAVAILABLE', `${peerName}: NATS not connected`);

  const sent = headers();
  sent.set(TIMEOUT_HEADER, String(timeoutMs));
  // The id of the request this call works for, passed on to the service (ADR 18).
  const requestId = currentRequestId();
  if (requestId !== undefined) sent.set(REQUEST_ID_HEADER, requestId);
  // And the trace context beside it (ADR 17).
  injectTraceHeaders(sent);
  let reply: Msg;
  try {
    const request = bus.connection.request(subject, payload, { timeout: timeoutMs, headers: sent });
    reply = signal === undefined ? await request : await unlessAborted(request, signal);
  } catch (thrown) {
    throw fromRequestError(thrown, peerName);
  }
  const error = fromNatsErrorReply(reply.headers, peerName);
  if (error) throw error;
  return reply.data;
}

/**
 * The request's reply, or CANCELLED as soon as the signal aborts. A cancelled request cannot
 * be taken back from NATS; the reply is simply not awaited.
 */
async function unlessAborted(request: Promise<Msg>, signal: AbortSignal): Promise<Msg> {
  let onAbort = () => {};
  const cancelled = new Promise<never>((_, reject) => {
    onAbort = () => reject(new AppError('CANCELLED', 'the call was cancelled'));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([request, cancelled]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function fromRequestError(thrown: unknown, peer: string): AppError {
  if (thrown instanceof AppError) return thrown;
  if (thrown instanceof errors.RequestError && thrown.isNoResponders()) {
    return new AppError('UNAVAILABLE', `${peer}: no service answers`, { cause: thrown });
  }
  if (
    thrown instanceof errors.TimeoutError ||
    (thrown as Error).cause instanceof errors.TimeoutError
  ) {
    return new AppError('DEADLINE_EXCEEDED', `${peer}: deadline exceeded`, { cause: thrown });
  }
  if (
    thrown instanceof errors.ClosedConnectionError ||
    thrown instanceof errors.DrainingConnectionError
  ) {
    return new AppError('UNAVAILABLE', `${peer}: NATS connection closing`, { cause: thrown });
  }
  return new AppError('INTERNAL', `${peer}: request failed`, { cause: thrown });
}
