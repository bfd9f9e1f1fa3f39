import { ServiceErrorCodeHeader, ServiceErrorHeader } from '@nats-io/services';
import { headers, type MsgHdrs } from '@nats-io/transport-node';
import {
  AppError,
  codeOfNatsServiceError,
  isErrorCode,
  natsServiceErrorOf,
  type ErrorDetails,
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

/** Builds the error reply of an AppError; INTERNAL messages stay inside the process. */
export function toNatsErrorReply(error: AppError): NatsErrorReply {
  const extra = headers();
  extra.set(ERROR_CODE_HEADER, error.code);
  if (error.details)
    extra.set(
      ERROR_DETAILS_HEADER,
      Buffer.from(JSON.stringify(error.details), 'utf8').toString('base64'),
    );
  const description = error.code === 'INTERNAL' ? 'internal error' : error.message;
  return {
    serviceErrorCode: natsServiceErrorOf(error.code),
    description: headerText(description),
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
  const code = replyHeaders.get(ERROR_CODE_HEADER);
  if (isErrorCode(code)) {
    return new AppError(code, description, {
      details: decodeDetails(replyHeaders.get(ERROR_DETAILS_HEADER)),
    });
  }
  const fallback = codeOfNatsServiceError(Number(number));
  return new AppError(fallback, `${peer}: ${description || fallback.toLowerCase()}`);
}

/**
 * A message made fit for the micro protocol's `Nats-Service-Error` header, which other NATS
 * tools show as is: control characters (CR and LF would be refused) become spaces and unpaired
 * surrogates U+FFFD. The exact data travel in the details; the message is for people.
 */
function headerText(message: string): string {
  // eslint-disable-next-line no-control-regex
  return message.toWellFormed().replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
}

/**
 * The details of an error reply, or undefined when missing, not base64 of JSON or not an
 * object: a peer that sends something else loses its details, never crashes the caller.
 */
function decodeDetails(value: string): ErrorDetails | undefined {
  if (value === '') return undefined;
  try {
    const details: unknown = JSON.parse(Buffer.from(value, 'base64').toString('utf8'));
    return typeof details === 'object' && details !== null && !Array.isArray(details)
      ? (details as ErrorDetails)
      : undefined;
  } catch {
    return undefined;
  }
}
