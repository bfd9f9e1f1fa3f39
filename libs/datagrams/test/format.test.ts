import { describe, expect, it } from 'vitest';
import {
  HEADER_BYTES,
  MAX_DATAGRAM_BYTES,
  MAX_PAYLOAD_BYTES,
  decodeDatagram,
  encodeDatagram,
  type Datagram,
} from '../src/index.js';

const tick: Datagram = {
  kind: 'data',
  epoch: 0xdead_beef,
  seq: 42,
  sentAtMs: 1_764_650_000_123.5,
  payload: new TextEncoder().encode('{"sku":"sku-red-mug"}'),
};

describe('the datagram format', () => {
  it('decodes what it encodes, with a 20-byte header', () => {
    const bytes = encodeDatagram(tick);
    expect(bytes.length).toBe(HEADER_BYTES + tick.payload.length);
    expect(bytes[0]).toBe(1);
    expect(decodeDatagram(bytes)).toEqual(tick);
  });

  it('refuses a payload that would not fit one unfragmented datagram', () => {
    const payload = new Uint8Array(MAX_PAYLOAD_BYTES + 1);
    expect(() => encodeDatagram({ ...tick, payload })).toThrow(RangeError);
    expect(encodeDatagram({ ...tick, payload: payload.subarray(1) }).length).toBe(
      MAX_DATAGRAM_BYTES,
    );
  });

  it('names what is wrong with a bad datagram instead of throwing', () => {
    const good = encodeDatagram(tick);
    const altered = (offset: number, value: number) => {
      const copy = Buffer.from(good);
      copy[offset] = value;
      return copy;
    };
    expect(decodeDatagram(good.subarray(0, 19))).toEqual({ rejected: 'too_short' });
    expect(decodeDatagram(Buffer.alloc(MAX_DATAGRAM_BYTES + 1))).toEqual({
      rejected: 'too_long',
    });
    expect(decodeDatagram(altered(0, 2))).toEqual({ rejected: 'version' });
    expect(decodeDatagram(altered(1, 9))).toEqual({ rejected: 'kind' });
    expect(decodeDatagram(good.subarray(0, good.length - 1))).toEqual({ rejected: 'length' });
    const heartbeatWithPayload = altered(1, 2);
    expect(decodeDatagram(heartbeatWithPayload)).toEqual({ rejected: 'length' });
    const seqZero = encodeDatagram({ ...tick, seq: 0 });
    expect(decodeDatagram(seqZero)).toEqual({ rejected: 'field' });
    const notANumber = Buffer.from(good);
    notANumber.writeDoubleBE(Number.NaN, 10);
    expect(decodeDatagram(notANumber)).toEqual({ rejected: 'field' });
  });
});
