import { AppError, isErrorCode, type ErrorCode, type ErrorDetails } from './app-error.js';

/**
 * The transport-free half of sending an AppError (ADR 3, ADR 10): what every transport
 * carries beside its own status, and how it is read back. Each transport keeps only its
 * framing: gRPC puts the details bytes in a `-bin` metadata key, NATS in a base64 header.
 */
export interface WireError {
  /** The exact code, beside the transport's status that several codes may share. */
  code: ErrorCode;
  /**
   * Well-formed Unicode (unpaired surrogates as U+FFFD, which encoders refuse). An INTERNAL
   * error's message stays inside the process: it says `internal error`.
   */
  message: string;
  /** The details as UTF-8 JSON bytes; undefined when the error has none. */
  details: Uint8Array | undefined;
}

export function toWireError(error: AppError): WireError {
  const message = error.code === 'INTERNAL' ? 'internal error' : error.message;
  return {
    code: error.code,
    message: message.toWellFormed(),
    details: error.details ? Buffer.from(JSON.stringify(error.details), 'utf8') : undefined,
  };
}

/**
 * The AppError a peer sent, or undefined when `code` is not one of ours (a foreign peer or
 * the transport itself: the caller falls back on the status). Details that are missing, not
 * UTF-8 JSON or not an object are dropped: a garbled value never throws.
 */
export function fromWireError(
  wire: { code: unknown; message: string; details: Uint8Array | undefined },
  options: { cause?: unknown } = {},
): AppError | undefined {
  if (!isErrorCode(wire.code)) return undefined;
  return new AppError(wire.code, wire.message, {
    details: decodeDetails(wire.details),
    cause: options.cause,
  });
}

function decodeDetails(bytes: Uint8Array | undefined): ErrorDetails | undefined {
  if (bytes === undefined || bytes.length === 0) return undefined;
  try {
    const details: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
    return typeof details === 'object' && details !== null && !Array.isArray(details)
      ? (details as ErrorDetails)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A message for a field that must be one line of text (a NATS header that other tools show
 * as is): control characters, CR and LF among them, become spaces. The exact data travel in
 * the details; the message is for people.
 */
export function singleLineMessage(message: string): string {
  // eslint-disable-next-line no-control-regex
  return message.toWellFormed().replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
}
