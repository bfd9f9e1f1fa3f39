import { connect } from 'node:net';

/** What a slowloris client holds open: its request line and headers, or (headers done) its body. */
export type SlowPart = 'headers' | 'body';

export interface SlowSocketOptions {
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  part: SlowPart;
  /** One more byte every this often, so the socket is never idle, and never done. */
  trickleMs: number;
}

export interface SlowSocketResult {
  part: SlowPart;
  /** When it sent its first byte; performance.timeOrigin-based ms, comparable across processes. */
  firstByteAt: number;
  /** When the server closed it (a slow socket never closes itself). */
  closedAt: number;
  /** The server wrote something before closing (Node's 408 on a request timeout). */
  answered: boolean;
  /** It never connected (refused, or dropped from a full accept queue). */
  failed: boolean;
}

// A request that never ends: headers that never reach their blank line, or complete headers
// announcing a body that arrives a byte at a time and never reaches its length.
const HEADS: Record<SlowPart, string> = {
  headers: 'GET /v1/stock/sku-slow HTTP/1.1\r\nHost: purchase\r\nX-Slow: ',
  body:
    'POST /v1/purchases HTTP/1.1\r\nHost: purchase\r\nContent-Type: application/json\r\n' +
    'Content-Length: 60000\r\nIdempotency-Key: slow\r\n\r\n{"customerId":"',
};

const now = () => performance.timeOrigin + performance.now();

/**
 * A slowloris socket: connects, sends the start of a request, then one byte every `trickleMs`
 * forever. Resolves once the server closes it, with when it started and when it was closed.
 */
export function openSlowSocket(options: SlowSocketOptions): Promise<SlowSocketResult> {
  return new Promise((resolve) => {
    let firstByteAt = 0;
    let answered = false;
    let trickle: NodeJS.Timeout | undefined;
    const socket = connect(options.port, options.host ?? '127.0.0.1', () => {
      firstByteAt = now();
      socket.write(HEADS[options.part]);
      trickle = setInterval(() => socket.write('a'), options.trickleMs);
    });
    socket.on('data', () => (answered = true));
    socket.on('error', () => {}); // a reset is a close too
    socket.on('close', () => {
      clearInterval(trickle);
      resolve({
        part: options.part,
        firstByteAt,
        closedAt: now(),
        answered,
        failed: firstByteAt === 0,
      });
    });
  });
}
