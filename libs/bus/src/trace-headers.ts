import type { MsgHdrs } from '@nats-io/transport-node';
import { extractTraceContext, injectTraceContext } from '@switchboard/telemetry';
import type { Attributes, Context } from '@opentelemetry/api';

/**
 * W3C trace context over NATS, written once for request-reply and JetStream (ADR 17): the
 * `traceparent` travels in the message headers, beside the request id, so no subject and no
 * permission changes (ADR 19). No instrumentation supports @nats-io v3, hence this file.
 */

/** Adds the current trace context to headers about to be sent. */
export function injectTraceHeaders(headers: MsgHdrs): void {
  injectTraceContext((key, value) => headers.set(key, value));
}

/** The trace context a message carries; the root context when it carries none. */
export function traceContextOf(headers: { get(key: string): string } | undefined): Context {
  return extractTraceContext((key) => headers?.get(key) || undefined);
}

/** The messaging semantic conventions' attributes of a span about one subject. */
export function messagingAttributes(operation: 'send' | 'process', subject: string): Attributes {
  return {
    'messaging.system': 'nats',
    'messaging.operation.type': operation,
    'messaging.operation.name': operation,
    'messaging.destination.name': subject,
  };
}

/** The messaging conventions' span name: `<operation> <destination>`. */
export function messagingSpanName(operation: 'send' | 'process', subject: string): string {
  return `${operation} ${subject}`;
}
