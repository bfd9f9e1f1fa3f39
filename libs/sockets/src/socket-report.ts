import { stat } from 'node:fs/promises';
import { compareSockets, type ClassifiedSocket } from './compare.js';
import type { SocketDeclaration } from './declaration.js';
import type { ProcSocket } from './proc-net.js';
import { readProcessSockets } from './process-sockets.js';

/** A declared unix listener's file, as found: its mode, octal ("0660"), or why there is none. */
export interface SocketFile {
  path: string;
  mode?: string;
  expectedMode?: string;
  error?: string;
}

/** What `GET /sockets` answers: the declaration beside what the process holds. */
export interface SocketReport {
  service: string;
  pid: number;
  declared: SocketDeclaration;
  sockets: ClassifiedSocket[];
  /** Listeners nothing declares, ours or another process's in the namespace: findings. */
  undeclaredListeners: ProcSocket[];
  socketFiles: SocketFile[];
}

/** Reads /proc/self now and sets it beside `declaration`. */
export async function createSocketReport(
  declaration: SocketDeclaration,
  proc = '/proc/self',
): Promise<SocketReport> {
  const { sockets, undeclaredListeners } = compareSockets(
    declaration,
    await readProcessSockets(proc),
  );
  const socketFiles = await Promise.all(
    declaration.listeners.flatMap((listener) =>
      listener.protocol === 'unix' && listener.path
        ? [socketFile(listener.path, listener.mode)]
        : [],
    ),
  );
  return {
    service: declaration.service,
    pid: process.pid,
    declared: declaration,
    sockets,
    undeclaredListeners,
    socketFiles,
  };
}

async function socketFile(path: string, expected: number | undefined): Promise<SocketFile> {
  const expectedMode = expected === undefined ? {} : { expectedMode: octal(expected) };
  try {
    return { path, mode: octal((await stat(path)).mode & 0o777), ...expectedMode };
  } catch (error) {
    return { path, error: (error as Error).message, ...expectedMode };
  }
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}
