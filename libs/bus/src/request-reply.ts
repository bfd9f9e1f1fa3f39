import { setTimeout as sleep } from 'node:timers/promises';
import {
  Svcm,
  ServiceErrorCodeHeader,
  ServiceErrorHeader,
  type Service,
  type ServiceMsg,
} from '@nats-io/services';
import { errors, headers, type Msg, type MsgHdrs } from '@nats-io/transport-node';
import {
  AppError,
  codeOfNatsServiceError,
  isErrorCode,
  natsServiceErrorOf,
  toAppError,
  type ErrorDetails,
} from '@switchboard/errors';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Bus } from './connection.js';

/**
 * Request-reply over the NATS services API ("micro"): a named, versioned service whose
 * endpoints answer requests, discoverable with `$SRV.PING|INFO|STATS.<name>`. Payloads are
 * bytes here (protobuf in Switchboard); errors travel as the micro protocol's
 * `Nats-Service-Error-Code`/`Nats-Service-Error` headers, plus the exact AppError code and
 * details, as over gRPC (ADR 3).
 */
export const ERROR_CODE_HEADER = 'switchboard-error-code';
/**
 * The details as base64 of their UTF-8 JSON. They hold what the caller sent (an unknown SKU,
 * an order id), so any Unicode; a NATS header value cannot hold CR or LF and loses leading and
 * trailing spaces. Base64's 65 characters are safe in any header, so no value can fail to
 * encode or come back changed.
 */
export const ERROR_DETAILS_HEADER = 'switchboard-error-details-base64';
/**
 * How long the caller still waits, in ms, when it sends: like gRPC's `grpc-timeout`, a
 * duration rather than a time, so clocks of different hosts need not agree.
 */
export const TIMEOUT_HEADER = 'switchboard-timeout-ms';
/** A longer timeout is served as this one: a timer cannot wait longer (about 24.8 days). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** What an endpoint handler knows of its request besides the payload. */
export interface RequestContext {
  /** When the caller stops waiting; undefined if it sent no timeout. */
  deadline: Date | undefined;
  /** Aborted when the deadline passes: stop the work. */
  signal: AbortSignal;
}

export type EndpointHandler = (payload: Uint8Array, context: RequestContext) => Promise<Uint8Array>;

export interface NatsServiceOptions {
  /** The service's name in `$SRV.*` discovery, e.g. `inventory`. */
  name: string;
  /** Semantic version, as the micro protocol requires, e.g. `1.0.0`. */
  version: string;
  description: string;
  /** Endpoint subjects are `<subjectPrefix>.<endpoint name>`, e.g. `inventory.v1.GetStock`. */
  subjectPrefix: string;
  endpoints: Record<string, EndpointHandler>;
}

export interface NatsService {
  /** Stops answering: the endpoints' subscriptions are drained, so requests in flight finish. */
  stop(): Promise<void>;
  readonly subjects: readonly string[];
}

/** The subject of one endpoint; servers and clients both build it here. */
export function endpointSubject(subjectPrefix: string, endpoint: string): string {
  return `${subjectPrefix}.${endpoint}`;
}

/**
 * Serves the endpoints on the bus's connection, in the queue group `q` (the micro default),
 * so replicas share the requests. Work whose caller's timeout has passed is dropped.
 */
export async function startNatsService(
  bus: Bus,
  options: NatsServiceOptions,
): Promise<NatsService> {
  const logger = bus.logger.child({ component: 'nats-service', service: options.name });
  const metrics = requestMetrics(bus.registry);
  // @nats-io/services is a prerelease built against an older @nats-io/nats-core; its types
  // differ from the connection's (3.4) but the protocol and the calls it uses are the same
  // (ADR 9), so the connection is passed through this one cast.
  const service: Service = await new Svcm(bus.connection as never).add({
    name: options.name,
    version: options.version,
    description: options.description,
  });

  const subjects: string[] = [];
  for (const [name, handler] of Object.entries(options.endpoints)) {
    const subject = endpointSubject(options.subjectPrefix, name);
    subjects.push(subject);
    service.addEndpoint(name, {
      subject,
      handler: (error, message) => {
        if (error) {
          logger.error({ err: error, subject }, 'endpoint subscription failed');
          return;
        }
        // answer catches everything it can; this catch is the last line, for bugs.
        answer(message, subject, handler).catch((thrown: unknown) =>
          logger.error({ err: thrown, subject }, 'request not answered'),
        );
      },
    });
  }
  // A round trip, so the server has the endpoints' subscriptions before this resolves: a
  // request sent after it (readiness says so) finds a responder instead of "no responders".
  await bus.connection.flush();
  logger.info({ version: options.version, subjects }, 'NATS service started');

  async function answer(message: ServiceMsg, subject: string, handler: EndpointHandler) {
    const startedAt = performance.now();
    const timeoutMs = parseTimeout(message.headers?.get(TIMEOUT_HEADER));
    const deadline = timeoutMs === undefined ? undefined : new Date(Date.now() + timeoutMs);
    const controller = new AbortController();
    const finish = (outcome: string) => metrics.observe('server', subject, outcome, startedAt);

    // Work whose caller has already given up is dropped, not done.
    if (timeoutMs !== undefined && timeoutMs <= 0) {
      respondWithError(message, new AppError('DEADLINE_EXCEEDED', 'the deadline had passed'));
      finish('DEADLINE_EXCEEDED');
      return;
    }
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(
            () => controller.abort(new AppError('DEADLINE_EXCEEDED', 'deadline exceeded')),
            timeoutMs,
          );
    let reply: Uint8Array;
    try {
      reply = await handler(message.data, { deadline, signal: controller.signal });
    } catch (thrown) {
      const appError = toAppError(thrown);
      if (appError.code === 'INTERNAL')
        logger.error({ err: thrown, subject }, 'unexpected error in handler');
      respondWithError(message, appError);
      finish(appError.code);
      return;
    } finally {
      clearTimeout(timer);
    }
    try {
      message.respond(reply);
      finish('OK');
    } catch (thrown) {
      // The connection is closing: the caller will time out, as after a lost reply.
      logger.error({ err: thrown, subject }, 'could not send the reply');
      finish('INTERNAL');
    }
  }

  /**
   * Answers with the error; never throws. If even that fails (a closed connection), a plain
   * INTERNAL without details is tried, then the failure is only logged.
   */
  function respondWithError(message: ServiceMsg, error: AppError): void {
    try {
      const extra = headers();
      extra.set(ERROR_CODE_HEADER, error.code);
      if (error.details)
        extra.set(
          ERROR_DETAILS_HEADER,
          Buffer.from(JSON.stringify(error.details), 'utf8').toString('base64'),
        );
      // Internal messages stay inside the process, as over gRPC.
      const description = error.code === 'INTERNAL' ? 'internal error' : error.message;
      message.respondError(natsServiceErrorOf(error.code), headerText(description), undefined, {
        headers: extra as never,
      });
    } catch (thrown) {
      logger.error({ err: thrown, code: error.code }, 'could not send the error; trying INTERNAL');
      try {
        message.respondError(natsServiceErrorOf('INTERNAL'), 'internal error');
      } catch (again) {
        logger.error({ err: again }, 'could not answer the request at all');
      }
    }
  }

  return {
    subjects,
    async stop() {
      await service.stop();
      logger.info('NATS service stopped');
    },
  };
}

/**
 * The caller's timeout header as milliseconds, or undefined when absent or not a number (then
 * the request has no deadline, as before the header existed); capped at what a timer can wait.
 */
function parseTimeout(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const timeoutMs = Number(value);
  if (Number.isNaN(timeoutMs)) return undefined;
  return Math.min(timeoutMs, MAX_TIMEOUT_MS);
}

/**
 * A message made fit for the micro protocol's `Nats-Service-Error` header, which other NATS
 * tools show as is: control characters (CR and LF would be refused) become spaces and unpaired
 * surrogates U+FFFD. The exact data travel in the details; the message is for people.
 */
function headerText(message: string): string {
  // eslint-disable-next-line no-control-regex
  return message.toWellFormed().replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
}

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

/** ±20 % on each backoff, as grpc-js does (gRFC A6), so that clients retrying together spread out. */
const BACKOFF_JITTER = 0.2;

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
export async function natsRequest(
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
  let backoffMs = retry?.initialBackoffMs ?? 0;
  for (let attempt = 1; ; attempt += 1) {
    let error: AppError;
    try {
      const reply = await requestOnce(bus, subject, payload, options);
      metrics.observe('client', subject, 'OK', startedAt);
      return reply;
    } catch (thrown) {
      error = toAppError(thrown);
    }
    const pauseMs = backoffMs * (1 + BACKOFF_JITTER * (2 * Math.random() - 1));
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
    backoffMs = Math.min(backoffMs * retry.backoffMultiplier, retry.maxBackoffMs);
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
  let onAbort = () => {};
  const cancelled = new Promise<never>((_, reject) => {
    onAbort = () => reject(new AppError('CANCELLED', 'the call was cancelled'));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  let reply: Msg;
  try {
    // A cancelled request cannot be taken back from NATS; the reply is simply not awaited.
    reply = await Promise.race([
      bus.connection.request(subject, payload, { timeout: timeoutMs, headers: sent }),
      cancelled,
    ]);
  } catch (thrown) {
    throw fromRequestError(thrown, peerName);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  const error = fromServiceError(reply.headers, peerName);
  if (error) throw error;
  return reply.data;
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

function fromServiceError(replyHeaders: MsgHdrs | undefined, peer: string): AppError | undefined {
  const number = replyHeaders?.get(ServiceErrorCodeHeader);
  if (!replyHeaders || !number) return undefined;
  const description = replyHeaders.get(ServiceErrorHeader);
  const code = replyHeaders.get(ERROR_CODE_HEADER);
  if (isErrorCode(code)) {
    return new AppError(code, description, {
      details: decodeDetails(replyHeaders.get(ERROR_DETAILS_HEADER)),
    });
  }
  // A service that is not ours: only the micro protocol's number to go by.
  const fallback = codeOfNatsServiceError(Number(number));
  return new AppError(fallback, `${peer}: ${description || fallback.toLowerCase()}`);
}

/**
 * The details of an error reply, or undefined when missing, not base64 of JSON or not an
 * object: a peer that sends something else loses its details, never crashes the caller.
 */
function decodeDetails(value: string): ErrorDetails | undefined {
  if (value === '') return undefined;
  try {
    const details: unknown = JSON.parse(Buffer.from(value, 'base64').toString('utf8'));
    return typeof details === 'object' && details !== null && !Array.isArray(details)
      ? (details as ErrorDetails)
      : undefined;
  } catch {
    return undefined;
  }
}

/** nats_request_duration_seconds by side, subject and outcome; nats_request_retries_total. */
function requestMetrics(registry: Registry) {
  const name = 'nats_request_duration_seconds';
  const retriesName = 'nats_request_retries_total';
  const retries =
    (registry.getSingleMetric(retriesName) as Counter<'subject'> | undefined) ??
    new Counter({
      name: retriesName,
      help: 'NATS requests sent again by the client because no responder answered or the service was overloaded, by subject.',
      labelNames: ['subject'] as const,
      registers: [registry],
    });
  const histogram =
    (registry.getSingleMetric(name) as Histogram<'side' | 'subject' | 'outcome'> | undefined) ??
    new Histogram({
      name,
      help: 'NATS request-reply calls by side (client, server), subject and outcome (OK or the error code).',
      labelNames: ['side', 'subject', 'outcome'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
  return {
    retries,
    observe(side: 'client' | 'server', subject: string, outcome: string, startedAt: number) {
      histogram.observe({ side, subject, outcome }, (performance.now() - startedAt) / 1000);
    },
  };
}
