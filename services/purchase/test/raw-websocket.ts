import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { parseHead } from './raw-http.js';

/**
 * A bare WebSocket client for fuzzing: it sends an upgrade request of exactly the bytes it is
 * given, then frames of any shape (the `ws` client refuses to send bad ones), and reports what
 * the server answered. One connection per exchange, closed by us after a short look.
 */
export interface RawUpgrade {
  /** The request target as sent: any bytes (latin1). */
  target: string;
  /** Header lines besides Host, Upgrade and Connection, written as latin1 bytes. */
  headers: [string, string][];
  /** Bytes sent right behind the request, as a client that does not wait for the 101 would. */
  after: Uint8Array;
}

export interface RawUpgradeAnswer {
  status: number;
  headers: Record<string, string>;
  /** The body of a refusal; after a 101, the bytes of the server's frames. */
  body: Buffer;
  /** Whether the server closed the connection before we did. */
  closedByServer: boolean;
}

/** After the first frame, how long to keep reading (for a pong or a close) before we close. */
const LOOK_MS = 50;
/** After a 101, how long to wait for the first frame. */
const FIRST_FRAME_MS = 5_000;

export function rawUpgrade(
  port: number,
  request: RawUpgrade,
): Promise<RawUpgradeAnswer | undefined> {
  const head =
    `GET ${request.target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
    'Connection: Upgrade\r\n' +
    request.headers.map(([name, value]) => `${name}: ${value}\r\n`).join('') +
    '\r\n';
  const bytes = Buffer.concat([Buffer.from(head, 'latin1'), request.after]);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let closedByServer = true;
    let closing: NodeJS.Timeout | undefined;
    /** We close: a refusal is closed by the server, an accepted socket stays open. */
    const closeAfter = (ms: number) => {
      clearTimeout(closing);
      closing = setTimeout(() => {
        closedByServer = false;
        socket.destroy();
      }, ms);
    };
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    socket.setTimeout(15_000, () => {
      socket.destroy();
      reject(new Error('no answer within 15 s'));
    });
    let sawHead = false;
    let sawFrame = false;
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const received = Buffer.concat(chunks);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      if (!sawHead) {
        sawHead = true;
        closeAfter(FIRST_FRAME_MS);
      }
      if (!sawFrame && serverFrames(received.subarray(end + 4)).length > 0) {
        sawFrame = true;
        closeAfter(LOOK_MS);
      }
    });
    // The server may close while we still write (it refused early): that is fine.
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') reject(error);
    });
    socket.on('close', () => {
      clearTimeout(closing);
      resolve(parseUpgradeAnswer(Buffer.concat(chunks), closedByServer));
    });
  });
}

function parseUpgradeAnswer(bytes: Buffer, closedByServer: boolean): RawUpgradeAnswer | undefined {
  const head = parseHead(bytes);
  return head && { status: head.status, headers: head.headers, body: head.rest, closedByServer };
}

/** One frame as a client writes it (RFC 6455 §5.2), any field allowed to be wrong. */
export interface ClientFrame {
  fin: boolean;
  /** The three reserved bits, which must be 0 without an extension. */
  rsv: number;
  /** 0-15; 3-7 and 11-15 are reserved. */
  opcode: number;
  /** A client must mask every frame; an unmasked one is a protocol error. */
  masked: boolean;
  payload: Uint8Array;
}

export function encodeFrame(frame: ClientFrame): Buffer {
  const length = frame.payload.length;
  const lengthBytes =
    length < 126
      ? Buffer.from([length])
      : length < 65_536
        ? Buffer.from([126, length >> 8, length & 0xff])
        : Buffer.concat([Buffer.from([127]), bigEndian64(length)]);
  lengthBytes[0]! |= frame.masked ? 0x80 : 0;
  const first = (frame.fin ? 0x80 : 0) | ((frame.rsv & 0b111) << 4) | (frame.opcode & 0x0f);
  const payload = Buffer.from(frame.payload);
  if (!frame.masked) return Buffer.concat([Buffer.from([first]), lengthBytes, payload]);
  const mask = randomBytes(4);
  for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
  return Buffer.concat([Buffer.from([first]), lengthBytes, mask, payload]);
}

function bigEndian64(value: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(BigInt(value));
  return bytes;
}

/** A Sec-WebSocket-Key as a browser sends it: 16 random bytes, base64. */
export function webSocketKey(): string {
  return randomBytes(16).toString('base64');
}

/** The frames a server sent (unmasked), as far as they arrived whole. */
export function serverFrames(bytes: Buffer): { opcode: number; payload: Buffer }[] {
  const frames: { opcode: number; payload: Buffer }[] = [];
  let at = 0;
  while (at + 2 <= bytes.length) {
    const opcode = bytes[at]! & 0x0f;
    let length = bytes[at + 1]! & 0x7f;
    let start = at + 2;
    if (length === 126) {
      if (start + 2 > bytes.length) break;
      length = bytes.readUInt16BE(start);
      start += 2;
    } else if (length === 127) {
      if (start + 8 > bytes.length) break;
      length = Number(bytes.readBigUInt64BE(start));
      start += 8;
    }
    if (start + length > bytes.length) break;
    frames.push({ opcode, payload: bytes.subarray(start, start + length) });
    at = start + length;
  }
  return frames;
}
