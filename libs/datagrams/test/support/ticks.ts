import { Registry } from 'prom-client';
import {
  createDatagramReceiver,
  createDatagramSender,
  type DatagramReceiver,
  type DatagramSender,
  type DatagramTarget,
} from '../../src/index.js';

/** A tick of the tests: a key's new value. */
export interface Tick {
  key: string;
  value: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function decodeTick(payload: Uint8Array): Tick | undefined {
  const value: unknown = JSON.parse(decoder.decode(payload));
  if (typeof value !== 'object' || value === null) return undefined;
  const { key, value: number } = value as Record<string, unknown>;
  return typeof key === 'string' && typeof number === 'number' ? { key, value: number } : undefined;
}

/**
 * A source of truth that changes (the sender's side), and a replica kept by ticks and
 * snapshots (the receiver's side): what the stock of inventory and purchase's feed are.
 */
export function tickModel(options: {
  receiverPort: number;
  receiverHost?: string;
  /** The sender's target, given the receiver's bound port. */
  target: (receiverPort: number) => DatagramTarget;
  heartbeatIntervalMs?: number;
}) {
  const registry = new Registry();
  const truth = new Map<string, number>();
  const replica = new Map<string, number>();
  const delivered: Tick[] = [];
  const resyncs: string[] = [];
  let sender: DatagramSender | undefined;
  const receiver: DatagramReceiver = createDatagramReceiver<Tick>({
    stream: 'test-ticks',
    host: options.receiverHost ?? '127.0.0.1',
    port: options.receiverPort,
    registry,
    decode: decodeTick,
    onData(tick) {
      delivered.push(tick);
      replica.set(tick.key, tick.value);
    },
    resync(reason) {
      resyncs.push(reason);
      // The snapshot: the truth as it is now (ListStock, in the services).
      for (const [key, value] of truth) replica.set(key, value);
      return Promise.resolve();
    },
  });

  return {
    registry,
    truth,
    replica,
    delivered,
    resyncs,
    receiver,
    async start() {
      const port = await receiver.start();
      sender = createDatagramSender({
        stream: 'test-ticks',
        targets: [options.target(port)],
        registry,
        heartbeatIntervalMs: options.heartbeatIntervalMs ?? 60_000,
      });
      await sender.start();
      return port;
    },
    /** Changes the truth, then tells it in a datagram. */
    tick(key: string, value: number) {
      truth.set(key, value);
      sender?.send(encoder.encode(JSON.stringify({ key, value })));
    },
    async count(name: string, labels: Record<string, string> = {}): Promise<number> {
      const metric = (await registry.getMetricsAsJSON()).find((entry) => entry.name === name);
      return (metric?.values ?? [])
        .filter((sample) =>
          Object.entries(labels).every(([label, value]) => sample.labels[label] === value),
        )
        .reduce((sum, sample) => sum + sample.value, 0);
    },
    async stop() {
      await sender?.stop();
      await receiver.stop();
    },
  };
}

/** Waits until `condition` holds; no deadline of its own (the test's timeout is the bound). */
export async function until(condition: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}
