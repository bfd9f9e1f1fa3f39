import { connect } from 'node:net';

/**
 * A bare HTTP/1.1 client for fuzzing: it sends exactly the bytes it is given, which fetch and
 * node:http refuse to do (they reject header values with NUL, CR, LF or characters past
 * U+00FF before sending). One request per connection (`Connection: close`).
 */
export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RawRequest {
  method: string;
  /** The request target as sent: any bytes (latin1), not checked or encoded. */
  target: string;
  /** Header lines as sent: values are written as latin1 bytes, as HTTP carries them. */
  headers: [string, string][];
  body?: Uint8Array;
}

export function rawRequest(port: number, request: RawRequest): Promise<RawAnswer | undefined> {
  const head =
    `${request.method} ${request.target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n` +
    request.headers.map(([name, value]) => `${name}: ${value}\r\n`).join('') +
    (request.body ? `Content-Length: ${request.body.length}\r\n` : '') +
    '\r\n';
  const bytes = Buffer.concat([Buffer.from(head, 'latin1'), request.body ?? Buffer.alloc(0)]);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    // Written without half-closing: a server may close a connection whose client has ended
    // before it answered. `Connection: close` makes it close once it has answered.
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    socket.setTimeout(15_000, () => {
      socket.destroy();
      reject(new Error('no answer within 15 s'));
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // The server may close while we still write (it answered early, e.g. 413): that is fine.
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') reject(error);
    });
    socket.on('close', () => resolve(parseAnswer(Buffer.concat(chunks))));
  });
}

/** The answer, or undefined when the server closed without one. */
function parseAnswer(bytes: Buffer): RawAnswer | undefined {
  const head = parseHead(bytes);
  if (!head) return undefined;
  let body = head.rest;
  if (head.headers['transfer-encoding'] === 'chunked') body = dechunk(body);
  return { status: head.status, headers: head.headers, body: body.toString('utf8') };
}

/** An answer's status line and headers (names lower-cased), and the bytes after them. */
export function parseHead(
  bytes: Buffer,
): { status: number; headers: Record<string, string>; rest: Buffer } | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine = '', ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status, headers, rest: bytes.subarray(end + 4) };
}

function dechunk(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const size = parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16);
    if (!(size > 0)) break;
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
