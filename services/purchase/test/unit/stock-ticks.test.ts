import dgram from 'node:dgram';
import { encodeDatagram } from '@switchboard/datagrams';
import { STOCK_CHANGED } from '@switchboard/events';
import { freePort, testLogger } from '@switchboard/testing';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { receiveStockTicks } from '../../src/adapters/stock-ticks.js';
import type { StockLevel } from '../../src/entry-points/live/live-feed.js';

const stops: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

const level = (sku: string, available: number): StockLevel => ({
  sku,
  onHand: available,
  reserved: 0,
  available,
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('stock ticks over UDP, for the live feed', () => {
  it('passes ticks on, and after a gap only the SKUs ListStock shows changed', async () => {
    const port = await freePort();
    const feed = new Map<string, StockLevel>();
    const ticks: StockLevel[] = [];
    // What ListStock answers: the mug moved to 7 in a tick that never arrived.
    let listStock = [level('sku-red-mug', 10), level('sku-tote-bag', 3)];
    let snapshots = 0;
    const receiver = await receiveStockTicks({
      host: '127.0.0.1',
      port,
      registry: new Registry(),
      logger: testLogger(),
      onTick: (stock) => {
        ticks.push(stock);
        feed.set(stock.sku, stock);
      },
      snapshot: () => {
        snapshots += 1;
        return Promise.resolve(listStock);
      },
      current: () => feed,
    });
    stops.push(() => receiver.stop());
    const socket = dgram.createSocket('udp4');
    stops.push(() => {
      socket.close();
    });
    const send = (seq: number, stock: StockLevel) =>
      socket.send(
        encodeDatagram({
          kind: 'data',
          epoch: 9,
          seq,
          sentAtMs: Date.now(),
          payload: STOCK_CHANGED.encode({ eventId: `e${seq}`, occurredAt: undefined, ...stock }),
        }),
        port,
        '127.0.0.1',
      );

    send(1, level('sku-red-mug', 10));
    await until(() => snapshots === 1 && ticks.length >= 3);
    // The first datagram of a sender reads a snapshot: nothing new in it but the tote bag.
    expect(ticks.map((tick) => [tick.sku, tick.available])).toEqual([
      ['sku-red-mug', 10],
      ['sku-tote-bag', 3],
      ['sku-red-mug', 10],
    ]);
    listStock = [level('sku-red-mug', 7), level('sku-tote-bag', 3)];
    ticks.length = 0;
    send(3, level('sku-tote-bag', 2)); // seq 2 lost
    await until(() => snapshots === 2 && ticks.length >= 2);
    expect(ticks.map((tick) => [tick.sku, tick.available])).toEqual([
      ['sku-red-mug', 7],
      ['sku-tote-bag', 2],
    ]);
  });
});
