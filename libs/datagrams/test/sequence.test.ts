import { describe, expect, it } from 'vitest';
import { createSequenceTracker } from '../src/index.js';

const data = (seq: number, epoch = 7) => ({ kind: 'data' as const, epoch, seq });
const heartbeat = (seq: number, epoch = 7) => ({ kind: 'heartbeat' as const, epoch, seq });

describe('gap detection', () => {
  it('asks for a snapshot on the first datagram of a sender, then follows seq + 1', () => {
    const tracker = createSequenceTracker();
    expect(tracker.observe(data(5))).toEqual({
      deliver: true,
      lost: 0,
      resync: 'epoch',
      stale: false,
    });
    expect(tracker.observe(data(6))).toEqual({ deliver: true, lost: 0, stale: false });
    expect(tracker.position()).toEqual({ epoch: 7, seq: 6 });
  });

  it('counts the datagrams a jump skips as lost, delivers the new one and asks for a snapshot', () => {
    const tracker = createSequenceTracker();
    tracker.observe(data(1));
    expect(tracker.observe(data(5))).toEqual({
      deliver: true,
      lost: 3,
      resync: 'gap',
      stale: false,
    });
  });

  it('drops a datagram older than the last one (reordered or duplicated) as stale', () => {
    const tracker = createSequenceTracker();
    tracker.observe(data(1));
    tracker.observe(data(3));
    expect(tracker.observe(data(2))).toEqual({ deliver: false, lost: 0, stale: true });
    expect(tracker.observe(data(3))).toEqual({ deliver: false, lost: 0, stale: true });
  });

  it('learns from a heartbeat that the last datagrams were lost', () => {
    const tracker = createSequenceTracker();
    tracker.observe(data(1));
    expect(tracker.observe(heartbeat(1))).toEqual({ deliver: false, lost: 0, stale: false });
    expect(tracker.observe(heartbeat(3))).toEqual({
      deliver: false,
      lost: 2,
      resync: 'gap',
      stale: false,
    });
    expect(tracker.observe(data(4))).toEqual({ deliver: true, lost: 0, stale: false });
  });

  it('starts over when the sender restarts with a new epoch', () => {
    const tracker = createSequenceTracker();
    tracker.observe(data(100));
    expect(tracker.observe(data(1, 8))).toMatchObject({ deliver: true, resync: 'epoch' });
  });
});
