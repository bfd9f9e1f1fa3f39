export {
  DATAGRAM_VERSION,
  HEADER_BYTES,
  MAX_DATAGRAM_BYTES,
  MAX_PAYLOAD_BYTES,
  MAX_SEQ,
  decodeDatagram,
  encodeDatagram,
  type Datagram,
  type DatagramKind,
  type RejectReason,
} from './format.js';
export { createSequenceTracker, type SequenceVerdict } from './sequence.js';
export {
  createDatagramSender,
  type DatagramSender,
  type DatagramSenderOptions,
  type DatagramTarget,
} from './sender.js';
export {
  createDatagramReceiver,
  type DatagramInfo,
  type DatagramReceiver,
  type DatagramReceiverOptions,
  type ResyncReason,
} from './receiver.js';
export { parseTargets } from './targets.js';
