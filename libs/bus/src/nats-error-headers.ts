import { ServiceErrorCodeHeader, ServiceErrorHeader } from '@nats-io/services';
import { headers, type MsgHdrs } from '@nats-io/transport-node';
import {
  AppError,
  codeOfNatsServiceError,
  fromWireError,
  natsServiceErrorOf,
  singleLineMessage,
  toWireError,
} from '@switchboard/errors';
import { ERROR_CODE_HEADER, ERROR_DETAILS_HEADER } from './request-reply-protocol.js';

/** An AppError as a micro error reply: its number, its readable text and our headers. */
export interface NatsErrorReply {
  /** `Nats-Service-Error-Code`: the table's `nats` column. */
  serviceErrorCode: number;
  /** `Nats-Service-Error`: the message, fit for a header. */
  description: string;
  /** The exact code and details (ERROR_CODE_HEADER, ERROR_DETAILS_HEADER). */
  headers: MsgHdrs;
}

/**
 * Builds the error reply of an AppError from `@switchboard/errors`' wire form; this file adds
 * only the NATS framing: base64 for the details, one line of text for the message.
 */
export function toNatsErrorReply(error: AppError): NatsErrorReply {
  const wire = toWireError(error);
  const extra = headers();
  extra.set(ERROR_CODE_HEADER, wire.code);
  if (wire.details) extra.set(ERROR_DETAILS_HEADER, Buffer.from(wire.details).toString('base64'));
  return {
    serviceErrorCode: natsServiceErrorOf(wire.code),
    // The micro protocol's header, which other NATS tools show as is: CR and LF would be
    // refused. The exact data travel in the details.
    description: singleLineMessage(wire.message),
    headers: extra,
  };
}

/**
 * The AppError an error reply carries, or undefined for a reply that is no error. A reply
 * without our code header (a foreign service) has only the micro protocol's number to go by.
 */
export function fromNatsErrorReply(
  replyHeaders: MsgHdrs | undefined,
  peer: string,
): AppError | undefined {
  const number = replyHeaders?.get(ServiceErrorCodeHeader);
  if (!replyHeaders || !number) return undefined;
  const description = replyHeaders.get(ServiceErrorHeader);
  const details = replyHeaders.get(ERROR_DETAILS_HEADER);
  const appError = fromWireError({
    code: replyHeaders.get(ERROR_CODE_HEADER),
    message: description,
    // What is not base64 decodes to bytes that are no JSON: the details are dropped.
    details: details === '' ? undefined : Buffer.from(details, 'base64'),
  });
  if (appError) return appError;
  // A service that is not ours: only the micro protocol's number to go by.
  const fallback = codeOfNatsServiceError(Number(number));
  return new AppError(fallback, `${peer}: ${description || fallback.toLowerCase()}`);
}
