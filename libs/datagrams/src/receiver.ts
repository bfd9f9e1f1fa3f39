import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Registry } from 'prom-client';
import { decodeDatagram } from './format.js';
import { receiverMetrics } from './metrics.js';
import { createSequenceTracker } from './sequence.js';

/** What the receiver knows of a delivered datagram, beside its payload. */
export interface DatagramInfo {
  seq: number;
  /** The sender's clock when it sent it (ms since 1970). */
  sentAtMs: number;
}

export interface DatagramReceiverOptions<T> {
  /** The metric label, e.g. "stock-ticks". */
  stream: string;
  host: string;
  /** 0 picks a free port (tests); start() returns the bound one. */
  port: number;
  registry: Registry;
  /** The payload as the application's type; undefined refuses it (counted, never thrown). */
  decode(payload: Uint8Array): T | undefined;
  /** Each new datagram's value, in seq order; never one older than the last delivered. */
  onData(value: T, info: DatagramInfo): void;
  /**
   * Reads the whole state again (a snapshot: ListStock) and applies it. Called after a gap or
   * a new sender epoch; datagrams that arrive meanwhile are held and delivered after it.
   */
  resync(reason: ResyncReason): Promise<void>;
  /** Datagrams held during a resync at most; beyond, they are dropped and another resync follows. */
  maxHeldDuringResync?: number;
  /** After a failed resync, the next try waits this long. */
  resyncRetryMs?: number;
  /** Told of what went wrong without stopping the receiver (a failed resync, a throwing onData). */
  onError?: (error: unknown, context: string) => void;
}

export type ResyncReason = 'gap' | 'epoch' | 'overflow';

export interface DatagramReceiver {
  /** Binds the socket; resolves to the port. */
  start(): Promise<number>;
  /** Resolves when no resync is running or due: for tests and the demo, after the last send. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Receives sequence-numbered datagrams from one sender, detects gaps, and resynchronises from
 * a snapshot. A datagram from anyone is decoded without trust: a bad one is counted and
 * dropped, nothing from the network can throw out of here.
 */
export function createDatagramReceiver<T>(options: DatagramReceiverOptions<T>): DatagramReceiver {
  const metrics = receiverMetrics(options.registry);
  const stream = options.stream;
  const maxHeld = options.maxHeldDuringResync ?? 1_000;
  const retryMs = options.resyncRetryMs ?? 1_000;
  const tracker = createSequenceTracker();
  const socket = dgram.createSocket(isIPv6(options.host) ? 'udp6' : 'udp4');
  // While a resync runs: the datagrams that came meanwhile, and whether another one is due.
  let held: { value: T; info: DatagramInfo }[] | undefined;
  let again: ResyncReason | undefined;
  let retry: NodeJS.Timeout | undefined;
  let stopped = false;
  let idle: Promise<void> = Promise.resolve();

  function deliver(value: T, info: DatagramInfo): void {
    try {
      options.onData(value, info);
    } catch (error) {
      options.onError?.(error, 'onData');
    }
  }

  function requestResync(reason: ResyncReason): void {
    if (held !== undefined || retry !== undefined) {
      // One is running or waiting to retry: it runs once more after, from a newer state.
      again ??= reason;
      return;
    }
    held = [];
    idle = runResync(reason);
  }

  async function runResync(first: ResyncReason): Promise<void> {
    let reason: ResyncReason | undefined = first;
    while (reason !== undefined && !stopped) {
      again = undefined;
      try {
        await options.resync(reason);
        metrics.resyncs.inc({ stream, reason, outcome: 'ok' });
      } catch (error) {
        metrics.resyncs.inc({ stream, reason, outcome: 'failed' });
        options.onError?.(error, 'resync');
        // Held datagrams are delivered still (fresher than nothing); the snapshot is retried.
        flushHeld();
        const failedReason: ResyncReason = reason;
        await new Promise<void>((resolve) => {
          retry = setTimeout(resolve, retryMs);
          retry.unref();
        });
        retry = undefined;
        held = [];
        reason = again ?? failedReason;
        continue;
      }
      // The snapshot is at least as new as the resync's start; the held datagrams, in seq
      // order, bring it up to the newest. One that was lost is another gap: `again`.
      flushHeld();
      reason = again;
      if (reason !== undefined) held = [];
    }
    held = undefined;
  }

  function flushHeld(): void {
    const values = held ?? [];
    held = undefined;
    for (const { value, info } of values) deliver(value, info);
  }

  function onMessage(bytes: Buffer): void {
    const datagram = decodeDatagram(bytes);
    if ('rejected' in datagram) {
      metrics.rejected.inc({ stream, reason: datagram.rejected });
      return;
    }
    // Decoded before its seq counts: a payload the application refuses is not news.
    let value: T | undefined;
    if (datagram.kind === 'data') {
      try {
        value = options.decode(datagram.payload);
      } catch {
        value = undefined;
      }
      if (value === undefined) {
        metrics.rejected.inc({ stream, reason: 'payload' });
        return;
      }
    }
    metrics.received.inc({ stream, kind: datagram.kind });
    const verdict = tracker.observe(datagram);
    if (verdict.stale) metrics.stale.inc({ stream });
    if (verdict.lost > 0) {
      metrics.lost.inc({ stream }, verdict.lost);
      metrics.gaps.inc({ stream });
    }
    if (verdict.resync) requestResync(verdict.resync);
    if (!verdict.deliver || value === undefined) return;
    const info = { seq: datagram.seq, sentAtMs: datagram.sentAtMs };
    if (held === undefined) return deliver(value, info);
    if (held.length >= maxHeld) {
      held = [];
      again ??= 'overflow';
      return;
    }
    held.push({ value, info });
  }

  return {
    start() {
      return new Promise((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(options.port, options.host, () => {
          socket.off('error', reject);
          // After the bind, a socket error (rare for UDP: out of memory) must not crash.
          socket.on('error', (error) => options.onError?.(error, 'socket'));
          socket.on('message', onMessage);
          resolve(socket.address().port);
        });
      });
    },
    async settled() {
      // A resync may start another one (a gap during it): wait until none runs.
      let running: Promise<void>;
      do {
        running = idle;
        await running;
      } while (running !== idle || held !== undefined);
    },
    async stop() {
      stopped = true;
      clearTimeout(retry);
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}
