import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeDatagram } from '../src/index.js';
import { tickModel, until } from './support/ticks.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function rawSender(port: number) {
  const socket = dgram.createSocket('udp4');
  cleanups.push(() => new Promise((resolve) => socket.close(() => resolve())));
  return (bytes: Uint8Array) =>
    new Promise<void>((resolve, reject) =>
      socket.send(bytes, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
    );
}

const payload = (key: string, value: number) =>
  new TextEncoder().encode(JSON.stringify({ key, value }));

describe('the datagram receiver on loopback', () => {
  it('delivers ticks in order, and reads one snapshot for a new sender', async () => {
    const model = tickModel({ receiverPort: 0, target: (port) => ({ host: '127.0.0.1', port }) });
    cleanups.push(() => model.stop());
    await model.start();
    for (let value = 1; value <= 20; value++) model.tick(`k${value % 3}`, value);
    await until(async () => (await model.count('datagrams_received_total')) === 20);
    await model.receiver.settled();
    expect(model.delivered.map((tick) => tick.value)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    expect(model.resyncs).toEqual(['epoch']);
    expect(await model.count('datagrams_lost_total')).toBe(0);
    expect(await model.count('datagrams_sent_total', { kind: 'data' })).toBe(20);
    expect(model.replica).toEqual(model.truth);
  });

  it('counts a gap, resynchronises, and holds what arrives meanwhile for after the snapshot', async () => {
    const model = tickModel({ receiverPort: 0, target: (port) => ({ host: '127.0.0.1', port }) });
    cleanups.push(() => model.stop());
    const send = rawSender(await model.receiver.start());
    const datagram = (seq: number, value: number) =>
      encodeDatagram({
        kind: 'data',
        epoch: 1,
        seq,
        sentAtMs: Date.now(),
        payload: payload('a', value),
      });
    await send(datagram(1, 1));
    await until(() => model.resyncs.length === 1);
    await model.receiver.settled();
    // seq 2 and 3 never sent: lost. The truth has moved on to 3 meanwhile.
    model.truth.set('a', 3);
    await send(datagram(4, 4));
    await send(datagram(5, 5));
    await until(async () => (await model.count('datagrams_received_total')) === 3);
    await model.receiver.settled();
    expect(model.resyncs).toEqual(['epoch', 'gap']);
    expect(await model.count('datagrams_lost_total')).toBe(2);
    expect(await model.count('datagram_gaps_total')).toBe(1);
    // The snapshot said 3; the held datagrams then brought the newest, 5.
    expect(model.replica.get('a')).toBe(5);
    expect(model.delivered.map((tick) => tick.value)).toEqual([1, 4, 5]);
  });

  it('counts and drops what is not a datagram of ours, and keeps serving', async () => {
    const model = tickModel({ receiverPort: 0, target: (port) => ({ host: '127.0.0.1', port }) });
    cleanups.push(() => model.stop());
    const send = rawSender(await model.receiver.start());
    await send(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    await send(Buffer.alloc(3));
    await send(
      encodeDatagram({
        kind: 'data',
        epoch: 1,
        seq: 1,
        sentAtMs: 0,
        payload: payload('a', 1).subarray(1),
      }),
    );
    await send(
      encodeDatagram({ kind: 'data', epoch: 1, seq: 1, sentAtMs: 0, payload: payload('a', 1) }),
    );
    await until(() => model.delivered.length === 1);
    expect(await model.count('datagrams_rejected_total')).toBe(3);
    expect(await model.count('datagrams_rejected_total', { reason: 'payload' })).toBe(1);
  });
});
