export {
  MAX_SOCKET_PATH_BYTES,
  prepareSocketPath,
  removeSocketFile,
  secureSocketFile,
  socketPathProblem,
  type SocketFileOptions,
} from './socket-file.js';
