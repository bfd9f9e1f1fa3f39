export {
  joinHostPort,
  parseAddress,
  parseInetTable,
  parseUnixTable,
  splitHostPort,
  unmapIpv4,
  type ProcSocket,
  type SocketProtocol,
} from './proc-net.js';
export { readProcessSockets, type ProcessSockets } from './process-sockets.js';
export {
  dependencyPeers,
  opsListener,
  peerFromUrl,
  type DeclaredListener,
  type DeclaredPeer,
  type SocketDeclaration,
} from './declaration.js';
export { compareSockets, type ClassifiedSocket, type SocketComparison } from './compare.js';
export { createSocketReport, type SocketFile, type SocketReport } from './socket-report.js';
