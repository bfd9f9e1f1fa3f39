/**
 * The slow clients of `npm run bench:slowloris`, in a process of their own so their timers do
 * not delay the timing of the normal requests. Opens `count` sockets to purchase that send
 * their headers, or a body, that never end, one byte every
 * `trickleMs` (slow headers, or with `bodyEvery`, some slow bodies); prints, as JSON, when each one sent its first byte and when purchase closed it.
 */
import { connect } from 'node:net';

export interface SlowSocketsInput {
  port: number;
  count: number;
  /** Sockets opened per batch, a batch every 50 ms: a burst past the backlog would be dropped. */
  batch: number;
  trickleMs: number;
  /** One socket in this many sends a slow body instead of slow headers; 0 for none. */
  bodyEvery: number;
}

export interface SlowSocketResult {
  kind: 'headers' | 'body';
  /** performance.timeOrigin-based milliseconds (comparable across processes). */
  firstByteAt: number;
  closedAt: number;
  /** The socket never connected (refused or dropped). */
  failed: boolean;
}

const HEADS = {
  headers: 'GET /v1/stock/sku-bench HTTP/1.1\r\nHost: purchase\r\nX-Slow: ',
  body:
    'POST /v1/purchases HTTP/1.1\r\nHost: purchase\r\nContent-Type: application/json\r\n' +
    'Content-Length: 60000\r\nIdempotency-Key: slow\r\n\r\n{"customerId":"',
};

const now = () => performance.timeOrigin + performance.now();

function slowSocket(port: number, kind: 'headers' | 'body', trickleMs: number) {
  return new Promise<SlowSocketResult>((resolve) => {
    let firstByteAt = 0;
    let trickle: NodeJS.Timeout | undefined;
    const socket = connect(port, '127.0.0.1', () => {
      firstByteAt = now();
      socket.write(HEADS[kind]);
      trickle = setInterval(() => socket.write('a'), trickleMs);
    });
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(trickle);
      resolve({ kind, firstByteAt, closedAt: now(), failed: firstByteAt === 0 });
    });
  });
}

async function main(input: SlowSocketsInput) {
  const sockets: Promise<SlowSocketResult>[] = [];
  for (let opened = 0; opened < input.count; opened += input.batch) {
    for (let i = opened; i < Math.min(input.count, opened + input.batch); i++)
      sockets.push(
        slowSocket(
          input.port,
          input.bodyEvery > 0 && i % input.bodyEvery === 0 ? 'body' : 'headers',
          input.trickleMs,
        ),
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // Tell the bench all are open, then wait for purchase to close each one.
  process.stderr.write(`slow sockets: ${input.count} opened\n`);
  process.stdout.write(JSON.stringify(await Promise.all(sockets)));
}

await main(JSON.parse(process.argv[2] ?? '{}') as SlowSocketsInput);
