// Parsers for the kernel's socket tables: /proc/<pid>/net/{tcp,tcp6,udp,udp6,unix}. Each
// table lists every socket of the process's network namespace, keyed by inode; which of them
// the process holds is for process-sockets.ts to tell.

export type SocketProtocol = 'tcp' | 'udp' | 'unix';

/** One row of a socket table. */
export interface ProcSocket {
  inode: number;
  protocol: SocketProtocol;
  /** The kernel's state, named (LISTEN, ESTABLISHED...); UDP and unix have their own names. */
  state: string;
  /** A TCP or unix listener, or a UDP socket bound to a port with no peer. */
  listening: boolean;
  /** `ip:port` (`[ip]:port` for IPv6) or, for unix, the path ('' when unnamed). */
  local: string;
  /** The peer's `ip:port`; absent for listeners and for unix sockets (the table has no peer). */
  peer?: string;
  localPort?: number;
  peerPort?: number;
}

// include/net/tcp_states.h
const TCP_STATES: Record<number, string> = {
  0x01: 'ESTABLISHED',
  0x02: 'SYN_SENT',
  0x03: 'SYN_RECV',
  0x04: 'FIN_WAIT1',
  0x05: 'FIN_WAIT2',
  0x06: 'TIME_WAIT',
  0x07: 'CLOSE',
  0x08: 'CLOSE_WAIT',
  0x09: 'LAST_ACK',
  0x0a: 'LISTEN',
  0x0b: 'CLOSING',
  0x0c: 'NEW_SYN_RECV',
};
const TCP_LISTEN = 0x0a;
// A UDP socket uses the same numbers: ESTABLISHED once connect()ed, CLOSE when only bound.
const UDP_UNCONNECTED = 0x07;

// include/uapi/linux/net.h (SS_*) and the __SO_ACCEPTCON flag of a listening unix socket.
const UNIX_STATES: Record<number, string> = {
  0x01: 'UNCONNECTED',
  0x02: 'CONNECTING',
  0x03: 'CONNECTED',
  0x04: 'DISCONNECTING',
};
const UNIX_ACCEPTCON = 0x10000;

/**
 * Rows of net/tcp, net/tcp6, net/udp or net/udp6. Columns: sl, local_address, rem_address,
 * st, tx:rx queues, tr:when, retrnsmt, uid, timeout, inode...
 */
export function parseInetTable(text: string, protocol: 'tcp' | 'udp'): ProcSocket[] {
  return dataLines(text).map((line) => {
    const fields = line.trim().split(/\s+/);
    const [localHex, peerHex, stateHex, inode] = [fields[1], fields[2], fields[3], fields[9]];
    if (!localHex || !peerHex || !stateHex || !inode) throw new Error(`bad row: ${line}`);
    const local = parseAddress(localHex);
    const peer = parseAddress(peerHex);
    const stateCode = Number.parseInt(stateHex, 16);
    const listening =
      protocol === 'tcp'
        ? stateCode === TCP_LISTEN
        : stateCode === UDP_UNCONNECTED && local.port !== 0;
    const row: ProcSocket = {
      inode: Number(inode),
      protocol,
      state:
        protocol === 'udp' && stateCode === UDP_UNCONNECTED
          ? 'UNCONNECTED'
          : (TCP_STATES[stateCode] ?? `0x${stateHex}`),
      listening,
      local: joinHostPort(local.ip, local.port),
      localPort: local.port,
    };
    // A listener's rem_address is all zeros: no peer.
    if (!listening && peer.port !== 0) {
      row.peer = joinHostPort(peer.ip, peer.port);
      row.peerPort = peer.port;
    }
    return row;
  });
}

/** Rows of net/unix. Columns: Num, RefCount, Protocol, Flags, Type, St, Inode, Path. */
export function parseUnixTable(text: string): ProcSocket[] {
  return dataLines(text).map((line) => {
    const fields = line.trim().split(/\s+/);
    const [flagsHex, stateHex, inode] = [fields[3], fields[5], fields[6]];
    if (!flagsHex || !stateHex || !inode) throw new Error(`bad row: ${line}`);
    const listening = (Number.parseInt(flagsHex, 16) & UNIX_ACCEPTCON) !== 0;
    const stateCode = Number.parseInt(stateHex, 16);
    return {
      inode: Number(inode),
      protocol: 'unix' as const,
      state: listening ? 'LISTEN' : (UNIX_STATES[stateCode] ?? `0x${stateHex}`),
      listening,
      // The path is the rest of the line (it may hold spaces); '@' starts an abstract name.
      local: fields.slice(7).join(' '),
    };
  });
}

/**
 * `0100007F:1F90` (IPv4) or 32 hex digits:port (IPv6). The kernel prints each 32-bit word of
 * the address in host byte order, little-endian on the machines we run on.
 */
export function parseAddress(hex: string): { ip: string; port: number } {
  const [ipHex = '', portHex = ''] = hex.split(':');
  const port = Number.parseInt(portHex, 16);
  const bytes = (ipHex.match(/.{8}/g) ?? []).flatMap((word) =>
    (word.match(/../g) ?? []).reverse().map((byte) => Number.parseInt(byte, 16)),
  );
  if (bytes.length === 4) return { ip: bytes.join('.'), port };
  if (bytes.length !== 16) throw new Error(`bad address: ${hex}`);
  return { ip: formatIpv6(bytes), port };
}

/** RFC 5952 text: v4-mapped as ::ffff:a.b.c.d, the longest run of zero groups as ::. */
function formatIpv6(bytes: number[]): string {
  const isV4Mapped =
    bytes.slice(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (isV4Mapped) return `::ffff:${bytes.slice(12).join('.')}`;
  const groups = Array.from(
    { length: 8 },
    (_, i) => ((bytes[2 * i] ?? 0) << 8) | (bytes[2 * i + 1] ?? 0),
  );
  let best = { start: -1, length: 0 };
  for (let start = 0; start < 8; start++) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === 0) length++;
    if (length > best.length && length > 1) best = { start, length };
  }
  const hexGroups = groups.map((group) => group.toString(16));
  if (best.start < 0) return hexGroups.join(':');
  const head = hexGroups.slice(0, best.start).join(':');
  const tail = hexGroups.slice(best.start + best.length).join(':');
  return `${head}::${tail}`;
}

/** host:port, with an IPv6 address in brackets. */
export function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** `1.2.3.4:80` or `[::ffff:1.2.3.4]:80` (as the tables are shown) to its IP, unmapped, and port. */
export function splitHostPort(address: string): { ip: string; port: number } {
  const separator = address.lastIndexOf(':');
  const ip = address.slice(0, separator).replace(/^\[|\]$/g, '');
  return { ip: unmapIpv4(ip), port: Number(address.slice(separator + 1)) };
}

/** The IPv4 address inside a v4-mapped IPv6 one (a dual-stack socket's IPv4 peer), else ip. */
export function unmapIpv4(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice('::ffff:'.length) : ip;
}

function dataLines(text: string): string[] {
  // The first line is the header.
  return text
    .split('\n')
    .slice(1)
    .filter((line) => line.trim() !== '');
}
