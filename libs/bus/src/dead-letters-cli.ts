#!/usr/bin/env node
/**
 * Lists and replays dead letters, for an operator, inside a service container or locally:
 *
 *   NATS_URL=nats://localhost:4222 node libs/bus/dist/dead-letters-cli.js list [--stream S] [--consumer C] [--limit N]
 *   ... replay <sequence>
 *   ... replay-all [--stream S] [--consumer C]
 *
 * A composition root of its own: the only file of the lib that reads the environment or exits.
 * Exit codes: 0 done, 1 a replay or the connection failed, 2 a usage error.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { connectBus, type Bus } from './connection.js';
import { listDeadLetters, replayDeadLetter, type DeadLetter } from './dead-letters.js';

const USAGE = `usage: dead-letters list [--stream S] [--consumer C] [--limit N]
       dead-letters replay <sequence>
       dead-letters replay-all [--stream S] [--consumer C]
NATS_URL (default nats://localhost:4222) names the server.`;
const CONNECT_TIMEOUT_MS = 10_000;

class UsageError extends Error {}

interface Command {
  name: 'list' | 'replay' | 'replay-all';
  sequence?: number;
  stream?: string;
  consumer?: string;
  limit?: number;
}

function parseCommand(argv: string[]): Command {
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

function line(letter: DeadLetter): string {
  return [
    letter.sequence,
    letter.time.toISOString(),
    `${letter.stream}/${letter.consumer}`,
    letter.reason,
    `${letter.originalSubject}#${letter.originalSequence}`,
    `deliveries=${letter.deliveries}`,
    letter.eventType || '-',
    letter.error,
  ].join('\t');
}

async function run(bus: Bus, command: Command): Promise<number> {
  switch (command.name) {
    case 'list': {
      const letters = await listDeadLetters(bus, command);
      for (const letter of letters) console.log(line(letter));
      console.log(`${letters.length} dead letter(s)`);
      return 0;
    }
    case 'replay': {
      const { deadLetter, ack } = await replayDeadLetter(bus, command.sequence ?? 0);
      console.log(
        `replayed dead letter ${deadLetter.sequence} to ${deadLetter.originalSubject} (${ack.stream} #${ack.seq})`,
      );
      return 0;
    }
    case 'replay-all': {
      const letters = await listDeadLetters(bus, { ...command, limit: Number.MAX_SAFE_INTEGER });
      let failed = 0;
      for (const letter of letters) {
        try {
          const { ack } = await replayDeadLetter(bus, letter.sequence);
          console.log(
            `replayed dead letter ${letter.sequence} to ${letter.originalSubject} (${ack.stream} #${ack.seq})`,
          );
        } catch (error) {
          failed += 1;
          console.error(`dead letter ${letter.sequence}: ${errorText(error)}`);
        }
      }
      console.log(`replayed ${letters.length - failed} of ${letters.length} dead letter(s)`);
      return failed > 0 ? 1 : 0;
    }
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function main(): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`dead-letters: ${error.message}\n${USAGE}`);
    return 2;
  }
  const servers = process.env.NATS_URL || 'nats://localhost:4222';
  // Logs go to stderr, so stdout holds only the listing and the summary.
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2));
  // connectBus waits for NATS forever, as a service should; an operator wants an answer.
  const timer = setTimeout(() => {
    console.error(
      `dead-letters: could not connect to NATS at ${servers} in ${CONNECT_TIMEOUT_MS} ms`,
    );
    process.exit(1);
  }, CONNECT_TIMEOUT_MS);
  const bus = await connectBus({
    servers,
    name: 'dead-letters-cli',
    logger,
    registry: new Registry(),
  });
  clearTimeout(timer);
  try {
    return await run(bus, command);
  } catch (error) {
    console.error(`dead-letters: ${errorText(error)}`);
    return 1;
  } finally {
    await bus.drain();
  }
}

process.exitCode = await main();
