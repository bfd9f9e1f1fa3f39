import type { DeclaredListener, DeclaredPeer, SocketDeclaration } from './declaration.js';
import { splitHostPort, unmapIpv4, type ProcSocket } from './proc-net.js';
import type { ProcessSockets } from './process-sockets.js';

/** An actual socket with what the declaration says of it. */
export interface ClassifiedSocket extends ProcSocket {
  /**
   * listener: one of ours; inbound: a connection accepted on one of our listeners; outbound:
   * a connection we opened; other: neither (an unnamed unix pair, a DNS query's UDP socket).
   */
  role: 'listener' | 'inbound' | 'outbound' | 'other';
  /** The declared listener or peer it belongs to; absent when the declaration lacks it. */
  declaredAs?: string;
  /** For listeners and connections: TLS, as the declaration of its listener or peer says. */
  tls?: boolean;
}

export interface SocketComparison {
  sockets: ClassifiedSocket[];
  /** Every listener, ours or another process's in the namespace, that nothing declares. */
  undeclaredListeners: ProcSocket[];
}

const ANY_ADDRESS = new Set(['0.0.0.0', '::']);

/** Sets each socket beside the declaration; a listener the declaration lacks is a finding. */
export function compareSockets(
  declaration: SocketDeclaration,
  actual: ProcessSockets,
): SocketComparison {
  const sockets = actual.own.map((socket) => classify(socket, declaration));
  const undeclaredListeners = [
    ...sockets.filter((socket) => socket.role === 'listener' && !socket.declaredAs),
    ...actual.otherListeners,
  ];
  return { sockets, undeclaredListeners };
}

function classify(socket: ProcSocket, declaration: SocketDeclaration): ClassifiedSocket {
  if (socket.listening) {
    const listener = declaration.listeners.find((candidate) => listens(candidate, socket));
    return listener
      ? { ...socket, role: 'listener', declaredAs: listener.name, tls: listener.tls }
      : { ...socket, role: 'listener' };
  }
  if (socket.protocol === 'unix' || !socket.peer) return { ...socket, role: 'other' };
  // UDP has no accepted connections: a connected UDP socket is always one we opened.
  const listener = declaration.listeners.find(
    (candidate) =>
      socket.protocol === 'tcp' &&
      candidate.protocol === 'tcp' &&
      candidate.port === socket.localPort,
  );
  if (listener) return { ...socket, role: 'inbound', declaredAs: listener.name, tls: listener.tls };
  const peer = declaration.peers.find((candidate) => connectsTo(candidate, socket));
  return peer
    ? { ...socket, role: 'outbound', declaredAs: peer.name, tls: peer.tls }
    : { ...socket, role: 'outbound' };
}

function listens(listener: DeclaredListener, socket: ProcSocket): boolean {
  if (listener.protocol === 'unix')
    return socket.protocol === 'unix' && socket.local === listener.path;
  if (socket.protocol !== listener.protocol || socket.localPort !== listener.port) return false;
  return (
    listener.host === undefined ||
    ANY_ADDRESS.has(listener.host) ||
    splitHostPort(socket.local).ip === unmapIpv4(listener.host)
  );
}

/** By port: the peer's name is resolved by DNS, and only the port is in the table as given. */
function connectsTo(peer: DeclaredPeer, socket: ProcSocket): boolean {
  return peer.protocol === socket.protocol && peer.port === socket.peerPort;
}
