#!/usr/bin/env node
/**
 * Lists and replays dead letters, for an operator:
 *
 *   NATS_URL=tls://localhost:4222 NATS_TLS_CA_FILE=... dead-letters list [--stream S] [--consumer C] [--limit N]
 *   ... replay <sequence>
 *   ... replay-all [--stream S] [--consumer C]
 *
 * A composition root, like a service's main.ts: the only file here that reads the environment
 * or exits; the mechanics are @switchboard/bus's listDeadLetters and replayDeadLetter.
 * Exit codes: 0 done, 1 a replay or the connection failed, 2 a usage error.
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { connectBus } from '@switchboard/bus';
import {
  ConfigError,
  assertSettingsAgree,
  loadConfig,
  tlsFileFields,
  tlsFilesFrom,
} from '@switchboard/config';
import { USAGE, UsageError, parseCommand, type Command } from './command.js';
import { errorText, runCommand } from './run-command.js';

const CONNECT_TIMEOUT_MS = 10_000;

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
  // Its own certificate, as the NATS user "dead-letters" (deploy/nats): all three or none.
  let tls;
  try {
    const natsTls = tlsFilesFrom(
      loadConfig(process.env, tlsFileFields('NATS_TLS', 'natsTls')),
      'NATS_TLS',
      'natsTls',
    );
    assertSettingsAgree([natsTls.problem]);
    tls = natsTls.files;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`dead-letters: ${error.message}`);
    return 2;
  }
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
    // The name of its NATS user: its replies come on _INBOX.dead-letters, which that user reads.
    name: 'dead-letters',
    logger,
    registry: new Registry(),
    tls,
  });
  clearTimeout(timer);
  try {
    return await runCommand(bus, command);
  } catch (error) {
    console.error(`dead-letters: ${errorText(error)}`);
    return 1;
  } finally {
    await bus.drain();
  }
}

process.exitCode = await main();
