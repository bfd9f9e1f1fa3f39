/**
 * Plain text: text that every store and transport of the system keeps exactly as it came.
 * Identifiers from outside (customer ids, SKUs, idempotency keys, order ids, page tokens)
 * must be plain text, because
 * - Postgres refuses NUL in a text column ("invalid byte sequence"): an answer of 500;
 * - an unpaired surrogate (half of a UTF-16 pair, which JSON and JavaScript strings allow) has
 *   no UTF-8 encoding: it is silently stored as U+FFFD, so what is read back is not what was
 *   written;
 * - control characters (C0: U+0000-U+001F, DEL, C1: U+0080-U+009F) break header values,
 *   log lines and terminals, and no identifier needs them.
 * Everything else is allowed, including any language, right-to-left text and emoji.
 */
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/** What a value that is not plain text is told, after its field's name. */
export const PLAIN_TEXT_RULE = 'must not contain control characters or unpaired surrogates';

/** The name of the JSON Schema format that checks plain text, e.g. `{ format: 'plain-text' }`. */
export const PLAIN_TEXT_FORMAT = 'plain-text';

export function isPlainText(value: string): boolean {
  return value.isWellFormed() && !CONTROL_CHARACTER.test(value);
}
