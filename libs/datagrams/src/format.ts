// The datagram on the wire: a fixed 20-byte header, then the payload. Big-endian (network
// order), one datagram per message: UDP keeps message boundaries, so no framing is needed.
//
//   offset  size  field
//   0       1     version      DATAGRAM_VERSION; any other is refused (a future format)
//   1       1     kind         1 data, 2 heartbeat (no payload: the sender's last seq, when idle)
//   2       4     epoch        the sender's random id; a new one after a restart
//   6       4     seq          1, 2, 3... per epoch (a heartbeat repeats the last one sent)
//   10      8     sentAtMs     the sender's clock (float64 ms since 1970): for latency figures
//   18      2     length       payload bytes; must be all the rest of the datagram
//   20      ...   payload      opaque to this lib

export const DATAGRAM_VERSION = 1;
export const HEADER_BYTES = 20;
/**
 * The largest datagram sent or accepted. 1,200 bytes fit in any path's MTU (IPv6 guarantees
 * 1,280 minus its 40-byte and UDP's 8-byte headers; QUIC uses the same bound): a datagram is
 * never fragmented, so losing one IP packet loses one datagram, not several.
 */
export const MAX_DATAGRAM_BYTES = 1_200;
export const MAX_PAYLOAD_BYTES = MAX_DATAGRAM_BYTES - HEADER_BYTES;
/** seq and epoch are uint32. */
export const MAX_SEQ = 0xffff_ffff;

export type DatagramKind = 'data' | 'heartbeat';
const KIND_CODES: Record<DatagramKind, number> = { data: 1, heartbeat: 2 };

export interface Datagram {
  kind: DatagramKind;
  epoch: number;
  seq: number;
  sentAtMs: number;
  payload: Uint8Array;
}

export function encodeDatagram(datagram: Datagram): Buffer {
  const { payload } = datagram;
  if (payload.length > MAX_PAYLOAD_BYTES) {
    throw new RangeError(`payload of ${payload.length} bytes; at most ${MAX_PAYLOAD_BYTES}`);
  }
  const buffer = Buffer.alloc(HEADER_BYTES + payload.length);
  buffer.writeUInt8(DATAGRAM_VERSION, 0);
  buffer.writeUInt8(KIND_CODES[datagram.kind], 1);
  buffer.writeUInt32BE(datagram.epoch, 2);
  buffer.writeUInt32BE(datagram.seq, 6);
  buffer.writeDoubleBE(datagram.sentAtMs, 10);
  buffer.writeUInt16BE(payload.length, 18);
  buffer.set(payload, HEADER_BYTES);
  return buffer;
}

/** Why a datagram was refused: the metric label of datagrams_rejected_total. */
export type RejectReason = 'too_short' | 'too_long' | 'version' | 'kind' | 'length' | 'field';

/** A datagram from anyone: never throws; a bad one is named, not parsed further. */
export function decodeDatagram(bytes: Buffer): Datagram | { rejected: RejectReason } {
  if (bytes.length < HEADER_BYTES) return { rejected: 'too_short' };
  if (bytes.length > MAX_DATAGRAM_BYTES) return { rejected: 'too_long' };
  if (bytes.readUInt8(0) !== DATAGRAM_VERSION) return { rejected: 'version' };
  const kindCode = bytes.readUInt8(1);
  const kind = kindCode === 1 ? 'data' : kindCode === 2 ? 'heartbeat' : undefined;
  if (kind === undefined) return { rejected: 'kind' };
  const length = bytes.readUInt16BE(18);
  if (length !== bytes.length - HEADER_BYTES) return { rejected: 'length' };
  if (kind === 'heartbeat' && length !== 0) return { rejected: 'length' };
  const seq = bytes.readUInt32BE(6);
  const sentAtMs = bytes.readDoubleBE(10);
  // Data starts at 1; a heartbeat before the first data says 0.
  if ((kind === 'data' && seq === 0) || !Number.isFinite(sentAtMs)) return { rejected: 'field' };
  return {
    kind,
    epoch: bytes.readUInt32BE(2),
    seq,
    sentAtMs,
    // A copy: the caller may keep it after the socket reuses its buffer.
    payload: new Uint8Array(bytes.subarray(HEADER_BYTES)),
  };
}
