import { AppError } from '@switchboard/errors';
import type { ServiceDefinition } from './types.js';

/**
 * grpc-js answers INTERNAL to a request whose bytes its method cannot decode ("Error
 * deserializing request"), as if the server were broken. It is the caller's mistake, and
 * over NATS the same bytes get INVALID_ARGUMENT; so the server decodes tolerantly: a request
 * that fails to decode reaches the call wrapper as this marker, which answers
 * INVALID_ARGUMENT without running the handler.
 */
const UNDECODABLE = Symbol('undecodable request');

interface Undecodable {
  [UNDECODABLE]: unknown;
}

/** The service with every request decoder made tolerant: a failure becomes the marker. */
export function withTolerantDecoding<S extends ServiceDefinition>(service: S): S {
  const tolerant: ServiceDefinition = {};
  for (const [name, method] of Object.entries(service)) {
    tolerant[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          return method.requestDeserialize(bytes);
        } catch (error) {
          return { [UNDECODABLE]: error } satisfies Undecodable;
        }
      },
    };
  }
  return tolerant as S;
}

/** Throws INVALID_ARGUMENT if the request could not be decoded. */
export function assertDecoded(request: unknown, path: string): void {
  if (typeof request === 'object' && request !== null && UNDECODABLE in request) {
    const rpcName = path.split('/').at(-1) ?? path;
    throw new AppError('INVALID_ARGUMENT', `not a ${rpcName} request message`, {
      cause: request[UNDECODABLE],
    });
  }
}
