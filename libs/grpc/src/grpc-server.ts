import {
  type Metadata,
  Server,
  ServerCredentials,
  status as GrpcStatus,
  type ChannelOptions,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { REQUEST_ID_HEADER, runWithIncomingRequestId } from '@switchboard/observability';
import { SpanKind, inSpan, markFailed, traceExemplar } from '@switchboard/telemetry';
import { AppError, toAppError } from '@switchboard/errors';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { toGrpcStatus } from './errors.js';
import { assertDecoded, withTolerantDecoding } from './undecodable.js';
import { createHealth } from './health.js';
import type { TlsFiles } from './certificate-reloader.js';
import { createServerTlsCredentials } from './tls-credentials.js';
import { grpcMetrics, openStreamsGauge } from './metrics.js';
import type { IsStreaming, RequestOf, ResponseOf, ServiceDefinition } from './types.js';
import { rpcAttributes, rpcSpanName, traceContextOf } from './trace-metadata.js';

/** What a handler knows of its call besides the request. */
export interface CallContext {
  /** When the caller stops waiting; undefined if it set no deadline. */
  deadline: Date | undefined;
  /** Aborted when the caller cancels or its deadline passes: stop the work. */
  signal: AbortSignal;
  /** The call's gRPC metadata; undefined when the same handler serves another transport. */
  metadata?: Metadata;
}

/**
 * Handlers are plain async functions, and server-streaming ones async iterables (an
 * `async function*`); the server maps their errors through the one table.
 */
export type ServiceHandlers<S extends ServiceDefinition> = {
  [K in keyof S]: IsStreaming<S[K]> extends true
    ? StreamHandler<RequestOf<S[K]>, ResponseOf<S[K]>>
    : (request: RequestOf<S[K]>, context: CallContext) => Promise<ResponseOf<S[K]>>;
};

/**
 * Yields the stream's messages. It must end soon after `context.signal` aborts (the caller
 * cancelled or the server is draining): the stream is then closed and counted as gone.
 */
export type StreamHandler<Req, Res> = (request: Req, context: CallContext) => AsyncIterable<Res>;

export interface GrpcServer {
  addService<S extends ServiceDefinition>(service: S, handlers: ServiceHandlers<S>): void;
  /**
   * Binds an address such as 0.0.0.0:50051 (port 0 picks one); returns the bound port. With
   * `tls`, that address serves mTLS only: clients must present a certificate from the CA.
   * Without it, plaintext (a Unix socket, whose file mode is its protection: ADR 15).
   */
  listen(address: string, options?: { tls?: TlsFiles }): Promise<number>;
  /**
   * What grpc.health.v1 answers for the whole server and each of its services: SERVING or
   * NOT_SERVING. Starts NOT_SERVING; keep it in step with /readyz.
   */
  setServing(serving: boolean): void;
  /**
   * Turns NOT_SERVING, stops accepting connections, tells clients to go elsewhere (GOAWAY),
   * lets calls in flight finish for up to graceMs, then cancels what is left.
   */
  drain(graceMs: number): Promise<void>;
}

export const DEFAULT_SERVER_OPTIONS: ChannelOptions = {
  // No ping-policy options here: grpc-js servers accept every client ping and have none
  // (SERVER_KEEPALIVE_POLICY states the policy; clients are checked against it at start).
  // The server pings too, so a client that vanished without closing (a host gone, a cut link)
  // frees its connection within keepalive time + timeout instead of never.
  'grpc.keepalive_time_ms': 60_000,
  'grpc.keepalive_timeout_ms': 20_000,
  // Close connections after a while (GOAWAY, calls in flight finish within the grace) so
  // clients re-resolve DNS and spread over new replicas instead of sticking to old ones.
  'grpc.max_connection_age_ms': 5 * 60_000,
  'grpc.max_connection_age_grace_ms': 30_000,
};

export function createGrpcServer(options: {
  logger: Logger;
  registry: Registry;
  channelOptions?: ChannelOptions;
}): GrpcServer {
  const { logger } = options;
  const server = new Server({ ...DEFAULT_SERVER_OPTIONS, ...options.channelOptions });
  const metrics = grpcMetrics(options.registry, 'server');
  const health = createHealth();
  health.implementation.addToServer(server);
  const openStreams = openStreamsGauge(options.registry);
  // Streams end when the server drains: their handlers see the signal abort.
  const streamControllers = new Set<AbortController>();
  // The certificate reloaders of the TLS listeners, stopped once the server has stopped.
  const closeCredentials: (() => void)[] = [];

  function wrap<Req, Res>(
    path: string,
    handler: (request: Req, context: CallContext) => Promise<Res>,
  ): handleUnaryCall<Req, Res> {
    return (call: ServerUnaryCall<Req, Res>, callback) => {
      const startedAt = performance.now();
      const deadline = toDate(call.getDeadline());
      const controller = new AbortController();
      // grpc-js emits 'cancelled' when the caller cancels, when the deadline passes (grpc-js
      // has then answered DEADLINE_EXCEEDED itself, from its own timer), and also after every
      // call it has answered; only the first two concern the handler.
      let answered = false;
      call.on('cancelled', () => {
        if (!answered) controller.abort(whyCancelled(deadline));
      });
      /** Answers once; a failure while answering is logged and answered plainly instead. */
      const finish = (error: AppError | null, response?: Res) => {
        answered = true;
        let code = GrpcStatus.OK;
        try {
          if (error) {
            const status = toGrpcStatus(error);
            code = status.code ?? GrpcStatus.INTERNAL;
            callback(status);
          } else callback(null, response);
        } catch (sendFailure) {
          code = GrpcStatus.INTERNAL;
          logger.error({ err: sendFailure, path }, 'could not send the answer; answering INTERNAL');
          answerPlainly(logger, path, () =>
            callback({ code: GrpcStatus.INTERNAL, details: 'internal error' }),
          );
        }
        // Inside the call's span (but for a call refused before it began): its exemplar.
        metrics.observe(path, GrpcStatus[code], startedAt, traceExemplar());
      };

      // Work whose caller has already given up is dropped, not done.
      if (deadline !== undefined && deadline.getTime() <= Date.now()) {
        finish(new AppError('DEADLINE_EXCEEDED', 'the deadline passed before the call started'));
        return;
      }

      // Called inside an async function, so a handler that throws before returning its promise
      // is answered like one that rejects; finish never throws, and the last catch is for bugs.
      // It runs in the caller's request id, so its log lines carry it (ADR 18).
      // Its SERVER span is a child of the caller's CLIENT span, from the metadata (ADR 17).
      void runWithIncomingRequestId(call.metadata.get(REQUEST_ID_HEADER)[0], () =>
        inSpan(
          rpcSpanName(path),
          () => ({
            kind: SpanKind.SERVER,
            parent: traceContextOf(call.metadata),
            attributes: () => rpcAttributes(path),
          }),
          async (span) => {
            let response: Res;
            try {
              assertDecoded(call.request, path);
              response = await handler(call.request, {
                deadline,
                signal: controller.signal,
                metadata: call.metadata,
              });
            } catch (thrown) {
              const error = toAppError(thrown);
              if (error.code === 'INTERNAL')
                logger.error({ err: thrown, path }, 'unexpected error in handler');
              markFailed(span, error);
              finish(error);
              return;
            }
            finish(null, response);
          },
        ),
      ).catch((thrown: unknown) => logger.error({ err: thrown, path }, 'unary call failed'));
    };
  }

  function wrapStream<Req, Res>(
    path: string,
    handler: StreamHandler<Req, Res>,
  ): handleServerStreamingCall<Req, Res> {
    return (call: ServerWritableStream<Req, Res>) => {
      const startedAt = performance.now();
      const controller = new AbortController();
      streamControllers.add(controller);
      openStreams.inc({ grpc_method: path });
      const deadline = toDate(call.getDeadline());
      call.on('cancelled', () => controller.abort(whyCancelled(deadline)));
      const context = {
        deadline,
        signal: controller.signal,
        metadata: call.metadata,
      };
      /**
       * Ends the stream with the error's status (unless the caller is gone anyway). Never
       * throws: a failure to send the status is logged and a plain INTERNAL sent instead.
       */
      const fail = (error: AppError): GrpcStatus => {
        try {
          const status = toGrpcStatus(error);
          if (!call.cancelled) call.emit('error', status);
          return status.code ?? GrpcStatus.INTERNAL;
        } catch (sendFailure) {
          logger.error({ err: sendFailure, path }, 'could not end the stream; sending INTERNAL');
          answerPlainly(logger, path, () => {
            if (!call.cancelled)
              call.emit('error', { code: GrpcStatus.INTERNAL, details: 'internal error' });
          });
          return GrpcStatus.INTERNAL;
        }
      };
      void (async () => {
        let code = GrpcStatus.OK;
        try {
          assertDecoded(call.request, path);
          for await (const message of handler(call.request, context)) {
            if (controller.signal.aborted) break;
            // Respect backpressure: a slow reader must not make the server buffer without end.
            if (!call.write(message)) {
              await new Promise<void>((resolve) => {
                call.once('drain', resolve);
                controller.signal.addEventListener('abort', () => resolve(), { once: true });
              });
            }
          }
          // Aborted: the caller cancelled, its deadline passed or the server is draining.
          if (controller.signal.aborted) code = fail(toAppError(controller.signal.reason));
          else call.end();
        } catch (thrown) {
          const error = toAppError(thrown);
          if (error.code === 'INTERNAL')
            logger.error({ err: thrown, path }, 'unexpected error in stream handler');
          code = fail(error);
        } finally {
          streamControllers.delete(controller);
          openStreams.dec({ grpc_method: path });
          metrics.observe(path, GrpcStatus[code], startedAt);
        }
      })().catch((thrown: unknown) => logger.error({ err: thrown, path }, 'stream call failed'));
    };
  }

  return {
    addService(service, handlers) {
      const implementation: UntypedServiceImplementation = {};
      for (const [name, method] of Object.entries(service)) {
        const handler = handlers[name];
        if (!handler) throw new Error(`no handler for ${method.path}`);
        implementation[name] = method.responseStream
          ? wrapStream(method.path, handler as StreamHandler<unknown, unknown>)
          : wrap(
              method.path,
              handler as (request: unknown, context: CallContext) => Promise<unknown>,
            );
      }
      server.addService(withTolerantDecoding(service), implementation);
      const serviceName = Object.values(service)[0]?.path.split('/')[1];
      if (serviceName) health.track(serviceName);
    },

    setServing(serving) {
      health.setServing(serving);
    },

    listen(address, listenOptions) {
      let credentials = ServerCredentials.createInsecure();
      if (listenOptions?.tls) {
        const tls = createServerTlsCredentials(listenOptions.tls, options);
        closeCredentials.push(() => tls.close());
        credentials = tls.credentials;
      }
      const secure = listenOptions?.tls !== undefined;
      return new Promise((resolve, reject) => {
        server.bindAsync(address, credentials, (error, port) => {
          if (error)
            reject(
              new Error(`gRPC server cannot listen on ${address}: ${error.message}`, {
                cause: error,
              }),
            );
          else {
            logger.info({ address, port, mtls: secure }, 'gRPC server listening');
            resolve(port);
          }
        });
      });
    },

    drain(graceMs) {
      health.setServing(false);
      // A watch never ends by itself; end them so tryShutdown does not wait out the grace.
      for (const controller of streamControllers)
        controller.abort(new AppError('UNAVAILABLE', 'the server is shutting down'));
      const stopped = new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          logger.warn(
            { graceMs },
            'gRPC calls still running after the grace period; cancelling them',
          );
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return stopped.then(() => {
        for (const close of closeCredentials.splice(0)) close();
      });
    },
  };
}

/** The last attempt to answer a call whose real answer could not be sent; never throws. */
function answerPlainly(logger: Logger, path: string, send: () => void): void {
  try {
    send();
  } catch (thrown) {
    logger.error({ err: thrown, path }, 'could not answer the call at all');
  }
}

/**
 * How early before our deadline a cancel may come and still be the caller's deadline: its
 * clock started when it sent the call, ours when the call arrived, so its deadline passes
 * first, and its cancel can reach us just before ours does (seen on a busy machine).
 */
const DEADLINE_SKEW_MS = 50;

/** grpc-js says only 'cancelled': the deadline passing or the caller going away. */
function whyCancelled(deadline: Date | undefined): AppError {
  return deadline !== undefined && Date.now() >= deadline.getTime() - DEADLINE_SKEW_MS
    ? new AppError('DEADLINE_EXCEEDED', 'deadline exceeded')
    : new AppError('CANCELLED', 'the caller cancelled');
}

function toDate(deadline: Date | number): Date | undefined {
  if (deadline instanceof Date) return deadline;
  return Number.isFinite(deadline) ? new Date(deadline) : undefined;
}
