import { readFile, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { parseInetTable, parseUnixTable, type ProcSocket } from './proc-net.js';

/** A process's sockets, and what else listens in its network namespace. */
export interface ProcessSockets {
  /** The sockets the process holds (an fd links to `socket:[inode]`). */
  own: ProcSocket[];
  /**
   * Listeners of the same network namespace that the process does not hold: in a container,
   * another process beside the service.
   */
  otherListeners: ProcSocket[];
}

const INET_TABLES = [
  ['tcp', 'tcp'],
  ['tcp6', 'tcp'],
  ['udp', 'udp'],
  ['udp6', 'udp'],
] as const;

/**
 * Reads `<proc>/net/*` and `<proc>/fd` of one process (default: this one). Linux only; a
 * table the kernel does not have (no IPv6) is read as empty.
 */
export async function readProcessSockets(proc = '/proc/self'): Promise<ProcessSockets> {
  const inodes = await socketInodes(join(proc, 'fd'));
  const tables = await Promise.all([
    ...INET_TABLES.map(async ([file, protocol]) =>
      parseInetTable(await readTable(join(proc, 'net', file)), protocol),
    ),
    readTable(join(proc, 'net', 'unix')).then(parseUnixTable),
  ]);
  const all = tables.flat();
  return {
    own: all.filter((socket) => inodes.has(socket.inode)),
    otherListeners: all.filter((socket) => socket.listening && !inodes.has(socket.inode)),
  };
}

/** The inodes of the sockets among a process's open files: fd links read `socket:[1234]`. */
async function socketInodes(fdDir: string): Promise<Set<number>> {
  const inodes = new Set<number>();
  for (const fd of await readdir(fdDir)) {
    // An fd closed between readdir and readlink is simply gone.
    const target = await readlink(join(fdDir, fd)).catch(() => '');
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match?.[1]) inodes.add(Number(match[1]));
  }
  return inodes;
}

async function readTable(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}
