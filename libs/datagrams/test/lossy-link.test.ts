import { createLossyLink, freePort, type LossyLink } from '@switchboard/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tickModel, until } from './support/ticks.js';

// Root makes the namespace, the veth pair and the iptables rules (CI runs as root).
const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('lossy-link.test.ts skipped: it needs root for ip netns and iptables');

describe.skipIf(!isRoot)('gaps from datagrams really dropped on a lossy link', () => {
  const ticks = 100;
  let link: LossyLink;
  let model: ReturnType<typeof tickModel>;

  beforeAll(async () => {
    const port = await freePort();
    // Every 5th packet (0-based 4, 9, 14...) is dropped in the namespace: seq 5, 10 ... 100,
    // the last one included, which only the heartbeat after it can reveal.
    link = await createLossyLink({
      loss: { mode: 'nth', every: 5, packet: 4 },
      udpTargetPort: port,
    });
    model = tickModel({
      receiverPort: port,
      receiverHost: '0.0.0.0',
      target: () => link.udp!,
      heartbeatIntervalMs: 200,
    });
    await model.start();
  });

  afterAll(async () => {
    await model?.stop();
    await link?.close();
  });

  it('detects every gap and repairs the replica from snapshots', async () => {
    // Key k0 changes only in the dropped datagrams (seq % 5 === 0): no tick of it arrives.
    for (let seq = 1; seq <= ticks; seq++) {
      model.tick(`k${seq % 5}`, seq);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await until(
      async () => (await model.count('datagrams_received_total', { kind: 'heartbeat' })) > 0,
    );
    await model.receiver.settled();

    expect((await link.dropped()).udp).toBeGreaterThanOrEqual(20);
    expect(await model.count('datagrams_received_total', { kind: 'data' })).toBe(80);
    expect(await model.count('datagrams_lost_total')).toBe(20);
    expect(await model.count('datagram_gaps_total')).toBe(20);
    expect(model.delivered.some((tick) => tick.key === 'k0')).toBe(false);
    expect(model.resyncs.filter((reason) => reason === 'gap').length).toBeGreaterThan(0);
    // Every value, k0's too, is the truth's: the snapshots filled in what was lost.
    expect(model.replica).toEqual(model.truth);
  });
});
