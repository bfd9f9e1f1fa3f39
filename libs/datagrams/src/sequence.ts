// Gap detection, with no I/O: what one datagram means given the last one seen.

/** What to do with a datagram. */
export interface SequenceVerdict {
  /** Hand its payload on (data, new); a heartbeat or an old datagram is not. */
  deliver: boolean;
  /** Datagrams that never came between the last one seen and this one. */
  lost: number;
  /**
   * Why the receiver's state must be read again from a snapshot: `gap` (datagrams lost),
   * `epoch` (the first datagram of a sender, or of a sender that restarted).
   */
  resync?: 'gap' | 'epoch';
  /** Came after a later one (reordered, or duplicated): its news is already old. */
  stale: boolean;
}

/**
 * The last (epoch, seq) seen from one sender. UDP may lose, reorder and duplicate datagrams:
 * a seq past the next one is a gap, one at or below the last is stale and dropped (the
 * resync after the gap that skipped it covers it), and a new epoch starts over.
 */
export function createSequenceTracker() {
  let epoch: number | undefined;
  let last = 0;

  return {
    /** The sequence position: undefined until the first datagram. */
    position: () => (epoch === undefined ? undefined : { epoch, seq: last }),
    observe(datagram: { kind: 'data' | 'heartbeat'; epoch: number; seq: number }): SequenceVerdict {
      const isData = datagram.kind === 'data';
      if (datagram.epoch !== epoch) {
        // Whatever this sender sent before its first datagram we saw is unknown: a snapshot.
        epoch = datagram.epoch;
        last = datagram.seq;
        return { deliver: isData, lost: 0, resync: 'epoch', stale: false };
      }
      // A heartbeat carries the last seq sent: anything past ours was lost.
      const expected = isData ? last + 1 : last;
      if (datagram.seq < expected) return { deliver: false, lost: 0, stale: isData };
      const lost = datagram.seq - expected;
      last = datagram.seq;
      return lost > 0
        ? { deliver: isData, lost, resync: 'gap', stale: false }
        : { deliver: isData, lost: 0, stale: false };
    },
  };
}
