import {
  Client,
  connectivityState,
  credentials,
  Metadata,
  status as GrpcStatus,
  type ChannelOptions,
  type ServiceError,
} from '@grpc/grpc-js';
import { AppError } from '@switchboard/errors';
import type { Registry } from 'prom-client';
import { fromGrpcError } from './errors.js';
import { grpcMetrics } from './metrics.js';
import type { RequestOf, ResponseOf, ServiceDefinition } from './types.js';

export interface UnaryCallOptions {
  /** When to give up; the server sees it as the gRPC deadline and drops late work. */
  deadline: Date;
  /** Cancels the call, e.g. when the HTTP client that asked for it goes away. */
  signal?: AbortSignal;
}

/** A promise-based client with one method per RPC; rejects only with AppError. */
export type GrpcClient<S extends ServiceDefinition> = {
  [K in keyof S]: (
    request: RequestOf<S[K]>,
    options: UnaryCallOptions,
  ) => Promise<ResponseOf<S[K]>>;
} & { close(): void; readonly target: string };

export const DEFAULT_CLIENT_OPTIONS: ChannelOptions = {
  // Ping an idle connection so a peer that vanished is noticed before the next call needs it.
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
  // Retry a lost connection soon, and keep retrying at least every 5 s.
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 5_000,
};

/**
 * One channel for one target (dns:///inventory:50051), shared by every call the process makes.
 *
 * A call never waits long for a connection: while the channel is failing it is refused at
 * once, and while it is (re)connecting it waits at most `connectTimeoutMs`. Without this a
 * peer that vanished (a stopped container's address answers nothing) holds every call until
 * its deadline, and the caller sees a slow 504 instead of a quick 503.
 */
export function createGrpcClient<S extends ServiceDefinition>(
  service: S,
  target: string,
  options: {
    registry: Registry;
    peerName: string;
    channelOptions?: ChannelOptions;
    /** How long a call may wait for a connection; default 1000 ms. */
    connectTimeoutMs?: number;
  },
): GrpcClient<S> {
  const { peerName, connectTimeoutMs = 1_000 } = options;
  const client = new Client(target, credentials.createInsecure(), {
    ...DEFAULT_CLIENT_OPTIONS,
    ...options.channelOptions,
  });
  const metrics = grpcMetrics(options.registry, 'client');
  const methods: Record<string, unknown> = {};

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

  for (const [name, method] of Object.entries(service)) {
    methods[name] = async (request: unknown, callOptions: UnaryCallOptions) => {
      const startedAt = performance.now();
      if (callOptions.signal?.aborted) {
        throw new AppError('CANCELLED', 'the call was cancelled before it started');
      }
      try {
        await connected(callOptions.deadline);
      } catch (error) {
        metrics.observe(method.path, (error as AppError).code, startedAt);
        throw error;
      }
      return new Promise((resolve, reject) => {
        const call = client.makeUnaryRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          request,
          new Metadata(),
          { deadline: callOptions.deadline },
          (error: ServiceError | null, response?: unknown) => {
            callOptions.signal?.removeEventListener('abort', cancel);
            metrics.observe(method.path, GrpcStatus[error ? error.code : GrpcStatus.OK], startedAt);
            if (error) reject(fromGrpcError(error, peerName));
            else resolve(response);
          },
        );
        const cancel = () => call.cancel();
        callOptions.signal?.addEventListener('abort', cancel, { once: true });
      });
    };
  }

  return Object.assign(methods as GrpcClient<S>, {
    close: () => client.close(),
    target,
  });
}
