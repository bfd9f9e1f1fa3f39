import {
  Client,
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
  // Fail fast while reconnecting rather than queue calls on a dead channel.
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 5_000,
};

/**
 * One channel for one target (dns:///inventory:50051), shared by every call the process makes.
 * Calls fail fast (no waitForReady) so an unreachable peer becomes UNAVAILABLE at once.
 */
export function createGrpcClient<S extends ServiceDefinition>(
  service: S,
  target: string,
  options: { registry: Registry; peerName: string; channelOptions?: ChannelOptions },
): GrpcClient<S> {
  const client = new Client(target, credentials.createInsecure(), {
    ...DEFAULT_CLIENT_OPTIONS,
    ...options.channelOptions,
  });
  const metrics = grpcMetrics(options.registry, 'client');
  const methods: Record<string, unknown> = {};

  for (const [name, method] of Object.entries(service)) {
    methods[name] = (request: unknown, callOptions: UnaryCallOptions) =>
      new Promise((resolve, reject) => {
        const startedAt = performance.now();
        if (callOptions.signal?.aborted) {
          reject(new AppError('CANCELLED', 'the call was cancelled before it started'));
          return;
        }
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
            if (error) reject(fromGrpcError(error, options.peerName));
            else resolve(response);
          },
        );
        const cancel = () => call.cancel();
        callOptions.signal?.addEventListener('abort', cancel, { once: true });
      });
  }

  return Object.assign(methods as GrpcClient<S>, {
    close: () => client.close(),
    target,
  });
}
