/**
 * The slow clients of `npm run bench:slowloris`, in a process of their own so their timers do
 * not delay the timing of the normal requests. Opens `count` slowloris sockets to purchase
 * (`openSlowSocket` of @switchboard/testing: slow headers, or with `bodyEvery`, some slow
 * bodies); prints, as JSON, when each one sent its first byte and when purchase closed it.
 */
import { openSlowSocket, type SlowSocketResult } from '@switchboard/testing';

export type { SlowSocketResult };

export interface SlowSocketsInput {
  port: number;
  count: number;
  /** Sockets opened per batch, a batch every 50 ms: a burst past the backlog would be dropped. */
  batch: number;
  trickleMs: number;
  /** One socket in this many sends a slow body instead of slow headers; 0 for none. */
  bodyEvery: number;
}

async function main(input: SlowSocketsInput) {
  const sockets: Promise<SlowSocketResult>[] = [];
  for (let opened = 0; opened < input.count; opened += input.batch) {
    for (let i = opened; i < Math.min(input.count, opened + input.batch); i++)
      sockets.push(
        openSlowSocket({
          port: input.port,
          part: input.bodyEvery > 0 && i % input.bodyEvery === 0 ? 'body' : 'headers',
          trickleMs: input.trickleMs,
        }),
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // Tell the bench all are open, then wait for purchase to close each one.
  process.stderr.write(`slow sockets: ${input.count} opened\n`);
  process.stdout.write(JSON.stringify(await Promise.all(sockets)));
}

await main(JSON.parse(process.argv[2] ?? '{}') as SlowSocketsInput);
