import dgram from 'node:dgram';
import { fuzz, garbageBytes } from '@switchboard/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_DATAGRAM_BYTES, decodeDatagram, encodeDatagram } from '../src/index.js';
import { tickModel, until } from './support/ticks.js';

// Garbage, and datagrams of ours with one header field or the payload made hostile.
const hostileDatagram = fc.oneof(
  garbageBytes({ maxLength: MAX_DATAGRAM_BYTES + 10 }),
  fc
    .record({
      kind: fc.constantFrom('data' as const, 'heartbeat' as const),
      epoch: fc.nat({ max: 0xffff_ffff }),
      seq: fc.nat({ max: 0xffff_ffff }),
      sentAtMs: fc.double(),
      payload: garbageBytes({ maxLength: 300 }),
      flip: fc.nat({ max: 19 }),
      byte: fc.nat({ max: 255 }),
    })
    .map(({ flip, byte, ...datagram }) => {
      const bytes = encodeDatagram(datagram);
      bytes[flip] = byte;
      return new Uint8Array(bytes);
    }),
);

describe('fuzz: datagrams from anyone', () => {
  let model: ReturnType<typeof tickModel>;
  let socket: dgram.Socket;
  let port: number;

  beforeAll(async () => {
    model = tickModel({ receiverPort: 0, target: (bound) => ({ host: '127.0.0.1', port: bound }) });
    port = await model.receiver.start();
    socket = dgram.createSocket('udp4');
  });
  afterAll(async () => {
    socket?.close();
    await model?.stop();
  });

  it('decodes or names the problem, never throws', async () => {
    await fuzz('decodeDatagram', hostileDatagram, (bytes) => {
      const result = decodeDatagram(Buffer.from(bytes));
      return Promise.resolve('rejected' in result ? result.rejected : result.kind);
    });
  });

  it('the receiver takes any of them on its socket and still delivers a good one after', async () => {
    let sent = 0;
    await fuzz('UDP receiver', hostileDatagram, async (bytes) => {
      await new Promise<void>((resolve, reject) =>
        socket.send(bytes, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
      );
      sent += 1;
      return 'sent';
    });
    const good = encodeDatagram({
      kind: 'data',
      epoch: 0xabcd,
      seq: 1,
      sentAtMs: Date.now(),
      payload: new TextEncoder().encode('{"key":"after","value":1}'),
    });
    // Sent again until it arrives, as any UDP sender must: after a burst of 10,000 datagrams
    // (`npm run fuzz`) the socket's receive buffer can be full, and the kernel drops the good
    // one too. The property is that the receiver still works, not that UDP never loses.
    await until(() => {
      if (model.delivered.some((tick) => tick.key === 'after')) return true;
      socket.send(good, port, '127.0.0.1');
      return false;
    });
    expect(sent).toBeGreaterThan(0);
  });
});
