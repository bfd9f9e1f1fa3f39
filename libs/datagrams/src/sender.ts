import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Registry } from 'prom-client';
import { MAX_PAYLOAD_BYTES, MAX_SEQ, encodeDatagram, type Datagram } from './format.js';
import { senderMetrics } from './metrics.js';

/** A subscriber's address: a name (resolved when its socket connects) or an IP, and a port. */
export interface DatagramTarget {
  host: string;
  port: number;
}

export interface DatagramSenderOptions {
  /** The metric label, e.g. "stock-ticks". */
  stream: string;
  targets: DatagramTarget[];
  registry: Registry;
  /**
   * When nothing was sent for this long, a heartbeat carries the last seq: without it a lost
   * last datagram would go unnoticed until the next change.
   */
  heartbeatIntervalMs: number;
  /** Told of a subscriber's socket error (it is reconnected on the next send). */
  onError?: (target: DatagramTarget, error: Error) => void;
}

export interface DatagramSender {
  /** Connects a socket to each subscriber (DNS resolved now). Fails on a name that does not resolve. */
  start(): Promise<void>;
  /**
   * Sends one payload to every subscriber, with the next seq. Never waits and never throws
   * for the network: a datagram is sent or it is lost, as UDP is. A payload over
   * MAX_PAYLOAD_BYTES is a caller's bug and throws.
   */
  send(payload: Uint8Array): void;
  stop(): Promise<void>;
}

/** One connected UDP socket per subscriber: `connect` fixes the peer (see the README). */
interface Link {
  target: DatagramTarget;
  socket?: dgram.Socket;
  connected: boolean;
}

export function createDatagramSender(options: DatagramSenderOptions): DatagramSender {
  const metrics = senderMetrics(options.registry);
  const links: Link[] = options.targets.map((target) => ({ target, connected: false }));
  let epoch = randomInt(0, MAX_SEQ + 1);
  let seq = 0;
  let lastSentAt = 0;
  let heartbeat: NodeJS.Timeout | undefined;
  let stopped = false;

  function connect(link: Link): Promise<void> {
    const socket = dgram.createSocket(isIPv6(link.target.host) ? 'udp6' : 'udp4');
    link.socket = socket;
    link.connected = false;
    // An ICMP "port unreachable" comes back as an error on a later send: reconnect then.
    socket.on('error', (error) => fail(link, socket, error));
    return new Promise((resolve, reject) => {
      socket.connect(link.target.port, link.target.host, (error?: Error) => {
        if (error) {
          fail(link, socket, error);
          reject(error);
          return;
        }
        if (link.socket === socket) link.connected = true;
        resolve();
      });
    });
  }

  function fail(link: Link, socket: dgram.Socket, error: Error): void {
    options.onError?.(link.target, error);
    if (link.socket !== socket) return;
    link.socket = undefined;
    link.connected = false;
    try {
      socket.close();
    } catch {
      // Already closed (an error after stop): nothing to release.
    }
  }

  function sendToAll(datagram: Datagram): void {
    const bytes = encodeDatagram(datagram);
    lastSentAt = Date.now();
    for (const link of links) {
      const socket = link.socket;
      if (!socket || !link.connected) {
        metrics.sendErrors.inc({ stream: options.stream });
        // A new socket, with the name resolved again (the subscriber may have a new address).
        if (!socket && !stopped) connect(link).catch(() => {});
        continue;
      }
      socket.send(bytes, (error) => {
        if (error) {
          metrics.sendErrors.inc({ stream: options.stream });
          fail(link, socket, error);
          return;
        }
        metrics.sent.inc({ stream: options.stream, kind: datagram.kind });
      });
    }
  }

  return {
    async start() {
      await Promise.all(links.map(connect));
      heartbeat = setInterval(() => {
        if (Date.now() - lastSentAt < options.heartbeatIntervalMs) return;
        sendToAll({
          kind: 'heartbeat',
          epoch,
          seq,
          sentAtMs: Date.now(),
          payload: new Uint8Array(),
        });
      }, options.heartbeatIntervalMs);
      heartbeat.unref();
    },
    send(payload) {
      // Checked before a seq is spent on it: a skipped seq would be a gap for every receiver.
      if (payload.length > MAX_PAYLOAD_BYTES) {
        throw new RangeError(`payload of ${payload.length} bytes; at most ${MAX_PAYLOAD_BYTES}`);
      }
      if (seq === MAX_SEQ) {
        // uint32 spent: a new epoch, which receivers treat as a restart (one snapshot).
        epoch = randomInt(0, MAX_SEQ + 1);
        seq = 0;
      }
      seq += 1;
      sendToAll({ kind: 'data', epoch, seq, sentAtMs: Date.now(), payload });
    },
    async stop() {
      stopped = true;
      clearInterval(heartbeat);
      await Promise.all(
        links.map(
          (link) =>
            new Promise<void>((resolve) => {
              const socket = link.socket;
              link.socket = undefined;
              if (!socket) return resolve();
              socket.close(() => resolve());
            }),
        ),
      );
    },
  };
}
