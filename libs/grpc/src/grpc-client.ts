import {
  Client,
  connectivityState,
  credentials,
  Metadata,
  status as GrpcStatus,
  type ChannelOptions,
  type ServiceError,
} from '@grpc/grpc-js';
import { REQUEST_ID_HEADER, currentRequestId } from '@switchboard/observability';
import { SpanKind, inSpan, traceExemplar } from '@switchboard/telemetry';
import { AppError } from '@switchboard/errors';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { fromGrpcError } from './errors.js';
import { HEALTH_CHECK_METHOD } from './health.js';
import { createClientTlsCredentials, type ClientTlsOptions } from './tls-credentials.js';
import { channelMetrics, channelStateName, grpcMetrics } from './metrics.js';
import {
  serviceConfigFor,
  type MethodPolicies,
  type MethodPolicy,
  type RetryPolicy,
} from './service-config.js';
import type {
  IsStreaming,
  RequestOf,
  ResponseOf,
  ServerStreamingMethodDefinition,
  ServiceDefinition,
  UnaryMethodDefinition,
} from './types.js';
import { rpcAttributes, rpcSpanName, withTraceContext } from './trace-metadata.js';

export interface UnaryCallOptions {
  /** When to give up; the server sees it as the gRPC deadline and drops late work. */
  deadline: Date;
  /** Cancels the call, e.g. when the HTTP client that asked for it goes away. */
  signal?: AbortSignal;
}

export interface StreamCallOptions {
  /** Ends the stream: the iteration finishes quietly and the server sees the cancellation. */
  signal?: AbortSignal;
  /** Optional: a watch usually runs until cancelled. */
  deadline?: Date;
}

/**
 * A promise-based client with one method per RPC; rejects only with AppError. A
 * server-streaming method returns an async iterable of its messages.
 */
export type GrpcClient<S extends ServiceDefinition> = {
  [K in keyof S]: IsStreaming<S[K]> extends true
    ? (request: RequestOf<S[K]>, options: StreamCallOptions) => AsyncIterable<ResponseOf<S[K]>>
    : (request: RequestOf<S[K]>, options: UnaryCallOptions) => Promise<ResponseOf<S[K]>>;
} & {
  /**
   * Asks the peer's grpc.health.v1 whether it serves this service; rejects with UNAVAILABLE
   * unless it answers SERVING. For readiness checks: never retried, never waits for a connection.
   */
  checkHealth(options: UnaryCallOptions): Promise<void>;
  close(): void;
  readonly target: string;
};

export const DEFAULT_CLIENT_OPTIONS: ChannelOptions = {
  // Ping an idle connection so a peer that vanished is noticed before the next call needs it.
  // Checked at start against the server's ping policy (keepaliveProblems).
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
  // Retry a lost connection soon, and keep retrying at least every 5 s.
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 5_000,
  // Re-resolve the name soon after a connection is lost or closed by max_connection_age, so
  // replicas that moved or were added are found (grpc-js waits 30 s by default).
  'grpc.dns_min_time_between_resolutions_ms': 1_000,
  // The service config is ours (serviceConfigFor), not whatever a DNS TXT record says.
  'grpc.service_config_disable_resolution': 1,
};

export interface GrpcClientOptions<S extends ServiceDefinition> {
  registry: Registry;
  /** The peer's name in errors ("inventory: not connected"), logs and metrics. */
  peerName: string;
  logger?: Logger;
  /** Per method: idempotent (retried) and waitForReady; unlisted methods get neither. */
  methods?: MethodPolicies<S>;
  retryPolicy?: RetryPolicy;
  channelOptions?: ChannelOptions;
  /** How long a fail-fast call may wait for a connection; default 1000 ms. */
  connectTimeoutMs?: number;
  /**
   * mTLS: present this certificate and accept only a server whose certificate names
   * `serverName`. Without it, plaintext (a Unix socket: ADR 15).
   */
  tls?: ClientTlsOptions;
}

/**
 * One channel for one target (dns:///inventory:50051), shared by every call the process makes.
 *
 * A call never waits long for a connection unless its method is waitForReady: while the
 * channel is failing it is refused at once, and while it is (re)connecting it waits at most
 * `connectTimeoutMs`. Without this a peer that vanished (a stopped container's address answers
 * nothing) holds every call until its deadline, and the caller sees a slow 504 instead of a
 * quick 503. Idempotent methods are retried by grpc-js itself, through the service config.
 */
export function createGrpcClient<S extends ServiceDefinition>(
  service: S,
  target: string,
  options: GrpcClientOptions<S>,
): GrpcClient<S> {
  const { peerName, connectTimeoutMs = 1_000 } = options;
  const policies: MethodPolicies<S> = options.methods ?? {};
  const tls = options.tls
    ? createClientTlsCredentials(options.tls, {
        registry: options.registry,
        logger: options.logger,
      })
    : undefined;
  const client = new Client(target, tls?.credentials ?? credentials.createInsecure(), {
    ...DEFAULT_CLIENT_OPTIONS,
    'grpc.service_config': serviceConfigFor(service, policies, options.retryPolicy),
    // The name sent in the handshake (SNI) and checked in the server's certificate: the
    // service's, not the address the target resolved to.
    ...(options.tls ? { 'grpc.ssl_target_name_override': options.tls.serverName } : {}),
    ...options.channelOptions,
  });
  const metrics = grpcMetrics(options.registry, 'client');
  watchChannel(client, peerName, options.registry, options.logger);

  /** Resolves once the channel is READY; refuses while it is failing or after the budget. */
  function connected(deadline: Date): Promise<void> {
    const channel = client.getChannel();
    const connectBy = Date.now() + connectTimeoutMs;
    const waitUntil = Math.min(connectBy, deadline.getTime());
    return new Promise((resolve, reject) => {
      const check = () => {
        const state = channel.getConnectivityState(true);
        if (state === connectivityState.READY) return resolve();
        if (state === connectivityState.TRANSIENT_FAILURE || state === connectivityState.SHUTDOWN) {
          return reject(new AppError('UNAVAILABLE', `${peerName}: not connected`));
        }
        channel.watchConnectivityState(state, waitUntil, (error) => {
          if (!error) return check();
          if (waitUntil < connectBy) {
            reject(
              new AppError('DEADLINE_EXCEEDED', `${peerName}: deadline exceeded while connecting`),
            );
          } else {
            reject(
              new AppError(
                'UNAVAILABLE',
                `${peerName}: no connection within ${connectTimeoutMs} ms`,
              ),
            );
          }
        });
      };
      check();
    });
  }

  /** One CLIENT span per call, retries by grpc-js included; its context goes in the metadata. */
  function unary<Req, Res>(
    method: UnaryMethodDefinition<Req, Res>,
    request: Req,
    callOptions: UnaryCallOptions,
    policy: MethodPolicy,
  ): Promise<Res> {
    return inSpan(
      rpcSpanName(method.path),
      () => ({ kind: SpanKind.CLIENT, attributes: () => rpcAttributes(method.path) }),
      () => unaryCall(method, request, callOptions, policy),
    );
  }

  async function unaryCall<Req, Res>(
    method: UnaryMethodDefinition<Req, Res>,
    request: Req,
    callOptions: UnaryCallOptions,
    policy: MethodPolicy,
  ): Promise<Res> {
    const startedAt = performance.now();
    // Read once, in the call's span, for whichever of the outcomes below the call has.
    const exemplar = traceExemplar();
    if (callOptions.signal?.aborted) {
      throw new AppError('CANCELLED', 'the call was cancelled before it started');
    }
    // A waitForReady call lets grpc-js hold it until a connection is up or the deadline passes.
    // A ready channel (the usual case) is checked without a promise: this is the hot path.
    const ready = client.getChannel().getConnectivityState(false) === connectivityState.READY;
    if (!policy.waitForReady && !ready) {
      try {
        await connected(callOptions.deadline);
      } catch (error) {
        metrics.observe(method.path, (error as AppError).code, startedAt, exemplar);
        throw error;
      }
      // Cancelled while it waited for the connection: the call is not sent at all.
      if (callOptions.signal?.aborted) {
        metrics.observe(method.path, 'CANCELLED', startedAt, exemplar);
        throw new AppError('CANCELLED', 'the call was cancelled before it started');
      }
    }
    return new Promise((resolve, reject) => {
      const call = client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        withRequestId(new Metadata({ waitForReady: policy.waitForReady ?? false })),
        { deadline: callOptions.deadline },
        (error: ServiceError | null, response?: Res) => {
          callOptions.signal?.removeEventListener('abort', cancel);
          metrics.observe(
            method.path,
            GrpcStatus[error ? error.code : GrpcStatus.OK],
            startedAt,
            exemplar,
          );
          if (error) reject(fromGrpcError(error, peerName));
          else resolve(response as Res);
        },
      );
      const cancel = () => call.cancel();
      callOptions.signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  /** The messages of a server stream until it ends, fails (AppError) or is cancelled. */
  async function* serverStream<Req, Res>(
    method: ServerStreamingMethodDefinition<Req, Res>,
    request: Req,
    callOptions: StreamCallOptions,
  ): AsyncGenerator<Res> {
    const { signal } = callOptions;
    if (signal?.aborted) return;
    const call = client.makeServerStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      withRequestId(new Metadata()),
      { deadline: callOptions.deadline ?? Infinity },
    );
    const cancel = () => call.cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      for await (const message of call) yield message as Res;
    } catch (error) {
      // Our own cancellation ends the iteration quietly; anything else is the stream's failure.
      if (signal?.aborted) return;
      throw fromGrpcError(error as ServiceError, peerName);
    } finally {
      // Also reached when the consumer stops iterating (break, return): free the stream.
      signal?.removeEventListener('abort', cancel);
      call.cancel();
    }
  }

  const methods: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(service)) {
    const policy = policies[name as keyof S] ?? {};
    methods[name] = method.responseStream
      ? (request: unknown, callOptions: StreamCallOptions) =>
          serverStream(method, request, callOptions)
      : (request: unknown, callOptions: UnaryCallOptions) =>
          unary(method, request, callOptions, policy);
  }

  // The service the health check asks about: the package-qualified name in the method paths.
  const serviceName = Object.values(service)[0]?.path.split('/')[1] ?? '';

  return Object.assign(methods as GrpcClient<S>, {
    async checkHealth(callOptions: UnaryCallOptions) {
      const { status } = await unary(
        HEALTH_CHECK_METHOD,
        { service: serviceName },
        callOptions,
        {},
      );
      if (status !== 'SERVING') throw new AppError('UNAVAILABLE', `${peerName}: ${status}`);
    },
    close() {
      client.close();
      tls?.close();
    },
    target,
  });
}

/** Keeps the channel's state in the metrics (and the logs) for as long as it lives. */
function watchChannel(client: Client, peer: string, registry: Registry, logger?: Logger): void {
  const channel = client.getChannel();
  const metrics = channelMetrics(registry, peer);
  let current = channel.getConnectivityState(false);
  metrics.entered(channelStateName(current));
  const watch = () => {
    channel.watchConnectivityState(current, Infinity, () => {
      const next = channel.getConnectivityState(false);
      if (next !== current) {
        const state = channelStateName(next);
        metrics.entered(state);
        if (next === connectivityState.TRANSIENT_FAILURE)
          logger?.warn(
            { peer, state },
            'gRPC channel failing; calls are refused until it reconnects',
          );
        else logger?.debug({ peer, state }, 'gRPC channel state');
      }
      current = next;
      if (next !== connectivityState.SHUTDOWN) watch();
    });
  };
  watch();
}

/**
 * The id of the request this call works for, passed on to the server (ADR 18), and the trace
 * context beside it (ADR 17).
 */
function withRequestId(metadata: Metadata): Metadata {
  const requestId = currentRequestId();
  if (requestId !== undefined) metadata.set(REQUEST_ID_HEADER, requestId);
  return withTraceContext(metadata);
}
