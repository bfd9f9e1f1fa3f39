import { Svcm, type Service, type ServiceMsg } from '@nats-io/services';
import { REQUEST_ID_HEADER, runWithIncomingRequestId } from '@switchboard/observability';
import { AppError, natsServiceErrorOf, toAppError } from '@switchboard/errors';
import { SpanKind, inSpan, markFailed } from '@switchboard/telemetry';
import type { Span } from '@opentelemetry/api';
import type { Bus } from './connection.js';
import { requestMetrics } from './metrics.js';
import { toNatsErrorReply } from './nats-error-headers.js';
import { TIMEOUT_HEADER, endpointSubject } from './request-reply-protocol.js';
import { messagingAttributes, messagingSpanName, traceContextOf } from './trace-headers.js';

/**
 * The server side of request-reply over the NATS services API ("micro"): a named, versioned
 * service whose endpoints answer requests, discoverable with `$SRV.PING|INFO|STATS.<name>`.
 * Payloads are bytes here (protobuf in Switchboard); errors travel as the micro protocol's
 * `Nats-Service-Error-Code`/`Nats-Service-Error` headers, plus the exact AppError code and
 * details, as over gRPC (ADR 3).
 */

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
  // @nats-io/services (pinned at the prerelease 3.0.0-25) is built against its own, older
  // @nats-io/nats-core: its types differ from the connection's (3.4), the protocol and the
  // calls it makes are the same. The first of the two casts this costs (ADR 13).
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
        // answer catches everything it can; this catch is the last line, for bugs. It runs in
        // the caller's request id, so its log lines carry it (ADR 18).
        // The span is a child of the caller's (ADR 17): the caller waits for the reply.
        runWithIncomingRequestId(message.headers?.get(REQUEST_ID_HEADER), () =>
          inSpan(
            messagingSpanName('process', subject),
            () => ({
              kind: SpanKind.CONSUMER,
              parent: traceContextOf(message.headers),
              attributes: () => messagingAttributes('process', subject),
            }),
            (span) => answer(message, subject, handler, span),
          ),
        ).catch((thrown: unknown) =>
          logger.error({ err: thrown, subject }, 'request not answered'),
        );
      },
    });
  }
  // A round trip, so the server has the endpoints' subscriptions before this resolves: a
  // request sent after it (readiness says so) finds a responder instead of "no responders".
  await bus.connection.flush();
  logger.info({ version: options.version, subjects }, 'NATS service started');

  async function answer(
    message: ServiceMsg,
    subject: string,
    handler: EndpointHandler,
    span: Span,
  ) {
    const startedAt = performance.now();
    const timeoutMs = parseTimeout(message.headers?.get(TIMEOUT_HEADER));
    const deadline = timeoutMs === undefined ? undefined : new Date(Date.now() + timeoutMs);
    const controller = new AbortController();
    const finish = (outcome: string) => {
      metrics.observe('server', subject, outcome, startedAt);
      if (outcome !== 'OK') markFailed(span, outcome);
    };

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
      const reply = toNatsErrorReply(error);
      message.respondError(reply.serviceErrorCode, reply.description, undefined, {
        // The second cast (ADR 13): headers of our nats-core, typed as the older one's.
        headers: reply.headers as never,
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
