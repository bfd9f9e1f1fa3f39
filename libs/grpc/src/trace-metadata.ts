import type { Metadata } from '@grpc/grpc-js';
import { extractTraceContext, injectTraceContext } from '@switchboard/telemetry';
import type { Attributes, Context } from '@opentelemetry/api';

/**
 * W3C trace context in the gRPC metadata, beside the request id (ADR 17, ADR 18). Our own
 * client and server wrap grpc-js's generic calls (makeUnaryRequest, Server.addService with our
 * handlers): the grpc-js instrumentation patches the generated client constructors and would
 * see none of our calls, so the spans are written here, where the request id is.
 */

/** Adds the current trace context to the metadata of a call about to be made. */
export function withTraceContext(metadata: Metadata): Metadata {
  injectTraceContext((key, value) => metadata.set(key, value));
  return metadata;
}

/** The trace context the caller sent; the root context when none. */
export function traceContextOf(metadata: Metadata): Context {
  return extractTraceContext((key) => {
    const value = metadata.get(key)[0];
    return typeof value === 'string' ? value : undefined;
  });
}

/** The RPC semantic conventions: the span is named `<service>/<method>`, as the path says. */
export function rpcSpanName(path: string): string {
  return path.replace(/^\//, '');
}

export function rpcAttributes(path: string): Attributes {
  const [service = '', method = ''] = rpcSpanName(path).split('/');
  return { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method };
}
