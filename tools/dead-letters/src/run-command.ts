import { listDeadLetters, replayDeadLetter, type Bus, type DeadLetter } from '@switchboard/bus';
import type { Command } from './command.js';

/** Runs one command on the bus; prints to stdout and stderr and returns the exit code. */
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

export async function runCommand(bus: Bus, command: Command): Promise<number> {
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

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
