import { limitsRetentionStream } from './stream-definitions.js';

/**
 * Where consumers put the messages they give up on (consumer.ts), and where operators list and
 * replay them (dead-letters.ts): one stream, one subject per consumer. Part of the lib's
 * dead-letter mechanics; how long letters are kept is the system's choice (`deadLetterStream`).
 */
export const DEAD_LETTER_STREAM_NAME = 'DEADLETTER';

/** Where a consumer's poison messages go: `deadletter.<stream>.<consumer>`. */
export function deadLetterSubject(stream: string, consumer: string): string {
  return `deadletter.${stream}.${consumer}`;
}

/** The dead-letter stream's definition, kept for `maxAgeMs`; its owner provisions it. */
export function deadLetterStream(options: { maxAgeMs: number; duplicateWindowMs: number }) {
  return limitsRetentionStream({
    name: DEAD_LETTER_STREAM_NAME,
    subjects: ['deadletter.>'],
    description: 'Messages consumers could not handle, with the reason in headers.',
    ...options,
  });
}
