import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  connectBus,
  ensureDurableConsumer,
  ensureStreams,
  limitsRetentionStream,
  listDeadLetters,
  publishEvent,
  startEventConsumer,
  type EventType,
} from '@switchboard/bus';
import { OrderConfirmed } from '@switchboard/contracts';
import { DEAD_LETTER_STREAM, DUPLICATE_WINDOW_MS } from '@switchboard/events';
import { createLogger, createMetricsRegistry } from '@switchboard/observability';
import { startNats, type StartedNats } from '@switchboard/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
// The built command, as an operator runs it: turbo builds this package before its tests
// (turbo.json).
const CLI = fileURLToPath(new URL('../dist/main.js', import.meta.url));

let nats: StartedNats;
const logger = createLogger({
  service: 'dead-letters-test',
  level: process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'silent',
});

beforeAll(async () => {
  nats = await startNats();
});

afterAll(async () => {
  await nats?.stop();
});

/** An OrderConfirmed on a stream of the test's own, and the system's DEADLETTER stream. */
async function ownOrderEvents(bus: Awaited<ReturnType<typeof connectBus>>) {
  const stream = `TEST_${randomUUID().slice(0, 8).toUpperCase()}`;
  await ensureStreams(bus, [
    limitsRetentionStream({
      name: stream,
      subjects: [`${stream.toLowerCase()}.>`],
      maxAgeMs: 60 * 60 * 1000,
      duplicateWindowMs: DUPLICATE_WINDOW_MS,
      description: 'a test stream',
    }),
    DEAD_LETTER_STREAM,
  ]);
  const type: EventType<OrderConfirmed> = {
    name: 'switchboard.orders.v1.OrderConfirmed',
    subject: `${stream.toLowerCase()}.confirmed`,
    stream,
    encode: (event) => OrderConfirmed.encode(event).finish(),
    decode: (data) => OrderConfirmed.decode(data),
  };
  return type;
}

describe('the dead-letters command', () => {
  it('lists a dead letter, replays it once, and answers a usage error with exit 2', async () => {
    await using bus = await connectBus({
      servers: nats.url,
      name: 'dead-letters-cli-test',
      logger,
      registry: createMetricsRegistry({ service: 'dead-letters-test' }),
    });
    const type = await ownOrderEvents(bus);
    await ensureDurableConsumer(bus, {
      stream: type.stream,
      name: 'broken',
      filterSubject: type.subject,
      ackWaitMs: 5_000,
      maxAckPending: 100,
      description: 'a consumer that always fails',
    });
    const broken = await startEventConsumer(bus, {
      type,
      consumer: 'broken',
      maxDeliveries: 2,
      retryDelayMs: 20,
      handle() {
        throw new Error('the bug is not fixed yet');
      },
    });
    const cli = (...args: string[]) =>
      run(process.execPath, [CLI, ...args], { env: { ...process.env, NATS_URL: nats.url } });

    try {
      await publishEvent(bus, type, {
        eventId: randomUUID(),
        occurredAt: new Date(),
        orderId: 'poison',
        customerId: 'c-1',
        items: [{ sku: 'sku-1', quantity: 1 }],
      });
      await expect.poll(() => listDeadLetters(bus, { stream: type.stream })).toHaveLength(1);
    } finally {
      await broken.stop();
    }
    const [letter] = await listDeadLetters(bus, { stream: type.stream });

    const listed = await cli('list', '--stream', type.stream);
    expect(listed.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${letter!.sequence}\\t\\S+\\t${type.stream}/broken\\tfailed\\t${type.subject}#1\\tdeliveries=2\\t`,
        ),
      ),
      '1 dead letter(s)',
    ]);

    await expect(cli('replay', 'seven')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/the sequence must be a positive integer[\s\S]*usage:/),
    });
    await expect(cli('frobnicate')).rejects.toMatchObject({ code: 2 });

    const replayed = await cli('replay', String(letter!.sequence));
    expect(replayed.stdout).toMatch(
      new RegExp(
        `replayed dead letter ${letter!.sequence} to ${type.subject} \\(${type.stream} #2\\)`,
      ),
    );
    await expect(cli('replay', String(letter!.sequence))).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/already replayed/),
    });
    expect((await cli('list', '--stream', type.stream)).stdout.trim()).toBe('0 dead letter(s)');
  });
});
