/**
 * SQLSTATE classes of failures that say nothing about the statement: the server or the link
 * to it is in trouble, or the transaction lost a race. Retrying later is the cure.
 * 08 connection exception, 40 transaction rollback (serialization failure, deadlock),
 * 53 insufficient resources, 57 operator intervention (shutdown, cannot connect now).
 */
const TRANSIENT_SQLSTATE_CLASSES = ['08', '40', '53', '57'];
/** Socket errors of a database that is down or unreachable. */
const TRANSIENT_SOCKET_CODES = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN'];

/**
 * True when a database call failed because of the database's state, not the request's: a
 * message consumer retries such a failure for as long as it lasts instead of counting it
 * towards dead-lettering the message.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (/^[0-9A-Z]{5}$/.test(code)) return TRANSIENT_SQLSTATE_CLASSES.includes(code.slice(0, 2));
    if (TRANSIENT_SOCKET_CODES.includes(code)) return true;
  }
  // node-postgres reports a lost connection and a pool wait that timed out without a code.
  if (/Connection terminated|timeout exceeded when trying to connect/i.test(error.message))
    return true;
  // Still transient once reported as UNAVAILABLE (unavailable-when-transient.ts).
  return error.cause !== undefined && isTransientDatabaseError(error.cause);
}
