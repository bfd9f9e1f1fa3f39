import { parseArgs } from 'node:util';

/** The command line: what to do, and its usage. */
export const USAGE = `usage: dead-letters list [--stream S] [--consumer C] [--limit N]
       dead-letters replay <sequence>
       dead-letters replay-all [--stream S] [--consumer C]
NATS_URL (default nats://localhost:4222) names the server.`;
export class UsageError extends Error {}

export interface Command {
  name: 'list' | 'replay' | 'replay-all';
  sequence?: number;
  stream?: string;
  consumer?: string;
  limit?: number;
}

export function parseCommand(argv: string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        stream: { type: 'string' },
        consumer: { type: 'string' },
        limit: { type: 'string' },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { positionals, values } = parsed;
  const [name, ...rest] = positionals;
  const filters = { stream: values.stream, consumer: values.consumer };
  switch (name) {
    case 'list': {
      if (rest.length > 0) throw new UsageError(`list takes no argument, got "${rest.join(' ')}"`);
      const limit =
        values.limit === undefined ? undefined : positiveInteger(values.limit, '--limit');
      return { name, ...filters, limit };
    }
    case 'replay': {
      if (rest.length !== 1 || rest[0] === undefined) {
        throw new UsageError('replay takes one dead letter sequence (see list)');
      }
      if (values.stream || values.consumer || values.limit) {
        throw new UsageError('replay takes a sequence only, no --stream, --consumer or --limit');
      }
      return { name, sequence: positiveInteger(rest[0], 'the sequence') };
    }
    case 'replay-all':
      if (rest.length > 0)
        throw new UsageError(`replay-all takes no argument, got "${rest.join(' ')}"`);
      if (values.limit) throw new UsageError('replay-all takes no --limit');
      return { name, ...filters };
    case undefined:
      throw new UsageError('no command');
    default:
      throw new UsageError(`unknown command "${name}"`);
  }
}

function positiveInteger(text: string, what: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`${what} must be a positive integer, got "${text}"`);
  }
  return value;
}
