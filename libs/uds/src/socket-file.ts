import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, isAbsolute } from 'node:path';

/**
 * sockaddr_un.sun_path is 108 bytes on Linux, one of them the terminating NUL: a longer path
 * fails to bind with a confusing EINVAL, or is silently cut on some systems.
 */
export const MAX_SOCKET_PATH_BYTES = 107;

/** A socket path's problem, found before anything touches the file system. */
export function socketPathProblem(path: string): string | undefined {
  if (!isAbsolute(path)) return `socket path ${path} must be absolute`;
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    return `socket path ${path} is ${bytes} bytes; Linux allows at most ${MAX_SOCKET_PATH_BYTES}`;
  }
  return undefined;
}

export interface SocketFileOptions {
  /** Mode of the socket's directory: who may reach the socket at all. Default 0o750. */
  directoryMode?: number;
  /** Mode of the socket file once bound: who may connect. Default 0o660 (owner and group). */
  socketMode?: number;
  /** How long to wait for an answer when probing an existing socket file. Default 500 ms. */
  probeTimeoutMs?: number;
  logger?: { warn(object: object, message: string): void };
}

/**
 * Call before binding a socket path:
 * - checks the path length;
 * - creates the directory with its mode;
 * - a socket file that nobody answers on (left by a crash) is removed;
 * - a socket that a live process serves is never removed: this throws, naming the path;
 * - anything else at the path (a regular file, a directory) is left alone and this throws.
 */
export async function prepareSocketPath(
  path: string,
  options: SocketFileOptions = {},
): Promise<void> {
  const problem = socketPathProblem(path);
  if (problem) throw new Error(problem);
  const directory = dirname(path);
  await mkdir(directory, { recursive: true, mode: options.directoryMode ?? 0o750 });
  await chmod(directory, options.directoryMode ?? 0o750);

  const existing = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!existing) return;
  if (!existing.isSocket()) {
    throw new Error(`${path} exists and is not a socket; refusing to replace it`);
  }
  if (await answers(path, options.probeTimeoutMs ?? 500)) {
    throw new Error(`another process is serving ${path}; refusing to take it over`);
  }
  options.logger?.warn({ path }, 'removing a stale socket file left by a process that is gone');
  await unlink(path);
}

/** Call right after binding: only the owner and its group may connect (by default). */
export async function secureSocketFile(
  path: string,
  options: SocketFileOptions = {},
): Promise<void> {
  await chmod(path, options.socketMode ?? 0o660);
}

/** Call on shutdown, after the server closed. A missing file is fine. */
export async function removeSocketFile(path: string): Promise<void> {
  await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}

/** True if a process accepts connections on the socket (ECONNREFUSED means nobody does). */
function answers(path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const timer = setTimeout(() => {
      // Accepted by the kernel's backlog but no answer yet: someone is bound to it.
      socket.destroy();
      resolve(true);
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(true);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === 'ECONNREFUSED') resolve(false);
      else reject(error);
    });
  });
}
