import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/**
 * One id per public request, carried to every log line of it, in every service it reaches
 * (ADR 18). The header on HTTP and NATS, the metadata key on gRPC (lower case, as both want).
 */
export const REQUEST_ID_HEADER = 'x-request-id';

/** 1 to 128 characters a log line or a header can carry as they are: no spaces, no quotes. */
const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function isValidRequestId(value: unknown): value is string {
  return typeof value === 'string' && VALID_REQUEST_ID.test(value);
}

/** The caller's id when it is valid, else a new one: a bad id is replaced, never refused. */
export function requestIdFrom(value: unknown): string {
  return isValidRequestId(value) ? value : randomUUID();
}

/**
 * The id of the request the current code works for. The HTTP edge runs each request inside
 * it; the gRPC and NATS clients read it to pass it on, so no function in between carries it.
 */
const current = new AsyncLocalStorage<string>();

export function runWithRequestId<T>(requestId: string, work: () => T): T {
  return current.run(requestId, work);
}

export function currentRequestId(): string | undefined {
  return current.getStore();
}

/**
 * For a server of another transport (gRPC metadata, a NATS header): runs `work` inside the id
 * its caller passed on, when valid; without one (a call that no public request started), as is.
 */
export function runWithIncomingRequestId<T>(value: unknown, work: () => T): T {
  return isValidRequestId(value) ? current.run(value, work) : work();
}
