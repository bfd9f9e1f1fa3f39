/**
 * What the client and the server of request-reply agree on besides the micro protocol's own
 * headers: the subject of an endpoint and the headers Switchboard adds.
 */

/** The exact AppError code of an error reply, beside the micro protocol's number (ADR 3). */
export const ERROR_CODE_HEADER = 'switchboard-error-code';
/**
 * The details as base64 of their UTF-8 JSON. They hold what the caller sent (an unknown SKU,
 * an order id), so any Unicode; a NATS header value cannot hold CR or LF and loses leading and
 * trailing spaces. Base64's 65 characters are safe in any header, so no value can fail to
 * encode or come back changed (ADR 10).
 */
export const ERROR_DETAILS_HEADER = 'switchboard-error-details-base64';
/**
 * How long the caller still waits, in ms, when it sends: like gRPC's `grpc-timeout`, a
 * duration rather than a time, so clocks of different hosts need not agree.
 */
export const TIMEOUT_HEADER = 'switchboard-timeout-ms';

/** The subject of one endpoint; servers and clients both build it here. */
export function endpointSubject(subjectPrefix: string, endpoint: string): string {
  return `${subjectPrefix}.${endpoint}`;
}
