import { once } from 'node:events';
import net from 'node:net';
import { createDatagramReceiver, createDatagramSender } from '@switchboard/datagrams';
import { createLossyLink, freePort, type LossyLink } from '@switchboard/testing';
import { Registry } from 'prom-client';
import type { Demo } from '../demos.js';
import { ms, say, sleep } from '../narrate.js';
import { formatTable, quantile } from '../table.js';

// The same ticks over UDP and over TCP, through one lossy link per loss rate (a network
// namespace with iptables dropping packets at random): what arrives, how late, and how the
// UDP receiver finds its gaps and repairs them from a snapshot (ADR 26).

const LOSS_RATES = [0.01, 0.1, 0.3];
const TICKS = 500;
const KEYS = 20;
const TICK_INTERVAL_MS = 2;
const HEARTBEAT_MS = 100;

interface Tick {
  key: string;
  value: number;
  sentAtMs: number;
}

interface Outcome {
  transport: 'UDP' | 'TCP';
  loss: number;
  sent: number;
  arrived: number;
  latenciesMs: number[];
  gaps: number;
  resyncs: number;
  /** Keys whose last value arrived wrong or never, with ticks alone (before any repair). */
  wrongWithoutRepair: number;
  /** Keys still wrong at the end, after the resyncs. */
  wrongAtEnd: number;
  droppedPackets: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function wrongKeys(truth: Map<string, number>, replica: Map<string, number>): number {
  return [...truth].filter(([key, value]) => replica.get(key) !== value).length;
}

async function overUdp(loss: number, link: LossyLink, port: number): Promise<Outcome> {
  const registry = new Registry();
  const truth = new Map<string, number>();
  const replica = new Map<string, number>();
  const ticksOnly = new Map<string, number>();
  const latenciesMs: number[] = [];
  let resyncs = 0;
  const receiver = createDatagramReceiver<Tick>({
    stream: 'demo',
    host: '0.0.0.0',
    port,
    registry,
    decode: (payload) => JSON.parse(decoder.decode(payload)) as Tick,
    onData(tick, info) {
      latenciesMs.push(Date.now() - info.sentAtMs);
      replica.set(tick.key, tick.value);
      ticksOnly.set(tick.key, tick.value);
    },
    resync() {
      resyncs += 1;
      // The snapshot: in the services, ListStock; here, the sender's truth as it is now.
      for (const [key, value] of truth) replica.set(key, value);
      return Promise.resolve();
    },
  });
  await receiver.start();
  const sender = createDatagramSender({
    stream: 'demo',
    targets: [link.udp!],
    registry,
    heartbeatIntervalMs: HEARTBEAT_MS,
  });
  await sender.start();
  try {
    for (let value = 1; value <= TICKS; value++) {
      const key = `sku-${value % KEYS}`;
      truth.set(key, value);
      sender.send(encoder.encode(JSON.stringify({ key, value, sentAtMs: Date.now() })));
      await sleep(TICK_INTERVAL_MS);
    }
    // A few heartbeats: a lost last tick shows as a gap only then.
    await sleep(HEARTBEAT_MS * 4);
    await receiver.settled();
  } finally {
    await sender.stop();
    await receiver.stop();
  }
  // The receiver's own count: several gaps during one resync are repaired by the next one.
  const gapMetric = (await registry.getMetricsAsJSON()).find(
    (metric) => metric.name === 'datagram_gaps_total',
  );
  const gaps = (gapMetric?.values ?? []).reduce((sum, sample) => sum + sample.value, 0);
  return {
    transport: 'UDP',
    loss,
    sent: TICKS,
    arrived: latenciesMs.length,
    latenciesMs,
    gaps,
    resyncs,
    wrongWithoutRepair: wrongKeys(truth, ticksOnly),
    wrongAtEnd: wrongKeys(truth, replica),
    droppedPackets: (await link.dropped()).udp,
  };
}

async function overTcp(loss: number, link: LossyLink, port: number): Promise<Outcome> {
  const truth = new Map<string, number>();
  const replica = new Map<string, number>();
  const latenciesMs: number[] = [];
  let allArrived: () => void = () => {};
  const done = new Promise<void>((resolve) => (allArrived = resolve));
  const server = net.createServer((socket) => {
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      buffered += text;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const tick = JSON.parse(line) as Tick;
        latenciesMs.push(Date.now() - tick.sentAtMs);
        replica.set(tick.key, tick.value);
        if (latenciesMs.length === TICKS) allArrived();
      }
    });
    socket.on('error', () => {});
  });
  server.listen(port, '0.0.0.0');
  await once(server, 'listening');
  const client = net.connect(link.tcp!.port, link.tcp!.host);
  client.setNoDelay(true);
  try {
    await once(client, 'connect');
    for (let value = 1; value <= TICKS; value++) {
      const key = `sku-${value % KEYS}`;
      truth.set(key, value);
      client.write(`${JSON.stringify({ key, value, sentAtMs: Date.now() })}\n`);
      await sleep(TICK_INTERVAL_MS);
    }
    // TCP delivers everything, in order, however long its retransmissions take.
    await done;
  } finally {
    client.destroy();
    server.close();
  }
  const wrong = wrongKeys(truth, replica);
  return {
    transport: 'TCP',
    loss,
    sent: TICKS,
    arrived: latenciesMs.length,
    latenciesMs,
    gaps: 0,
    resyncs: 0,
    wrongWithoutRepair: wrong,
    wrongAtEnd: wrong,
    droppedPackets: (await link.dropped()).tcp,
  };
}

async function run(): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error('the udp demo makes a network namespace and iptables rules: run it as root');
  }
  say(
    `${TICKS} ticks of ${KEYS} keys, one every ${TICK_INTERVAL_MS} ms, over UDP (sequence-numbered datagrams, gap detection, snapshot resync) and over TCP (newline-delimited JSON), each through a namespace dropping packets at random with iptables.`,
  );
  const outcomes: Outcome[] = [];
  for (const loss of LOSS_RATES) {
    const [udpPort, tcpPort] = [await freePort(), await freePort()];
    say(`\n${loss * 100} % loss: making the namespace and its iptables rules...`);
    const link = await createLossyLink({
      loss: { mode: 'random', probability: loss },
      udpTargetPort: udpPort,
      tcpTargetPort: tcpPort,
    });
    // Ctrl-C removes the namespace too.
    const interrupted = () => void link.close().then(() => process.exit(130));
    process.once('SIGINT', interrupted);
    try {
      say(`  UDP: sending...`);
      const udp = await overUdp(loss, link, udpPort);
      say(
        `  UDP: ${udp.arrived} of ${udp.sent} arrived; ${udp.gaps} gaps detected, ${udp.resyncs} snapshots read; ${udp.wrongWithoutRepair} keys wrong from ticks alone, ${udp.wrongAtEnd} after the resyncs`,
      );
      say(`  TCP: sending (lost segments are retransmitted)...`);
      const tcp = await overTcp(loss, link, tcpPort);
      say(
        `  TCP: ${tcp.arrived} of ${tcp.sent} arrived; p99 ${ms(quantile(tcp.latenciesMs, 0.99), 0)}`,
      );
      outcomes.push(udp, tcp);
    } finally {
      process.off('SIGINT', interrupted);
      await link.close();
      say('  namespace removed');
    }
  }
  say('');
  say(
    formatTable(
      [
        'loss',
        'transport',
        'sent',
        'arrived',
        'packets dropped',
        'latency p50',
        'p99',
        'max',
        'gaps detected',
        'resyncs',
        'keys wrong from ticks alone',
        'keys wrong at the end',
      ],
      outcomes.map((outcome) => [
        `${outcome.loss * 100} %`,
        outcome.transport,
        String(outcome.sent),
        String(outcome.arrived),
        String(outcome.droppedPackets),
        ms(quantile(outcome.latenciesMs, 0.5), 0),
        ms(quantile(outcome.latenciesMs, 0.99), 0),
        ms(quantile(outcome.latenciesMs, 1), 0),
        outcome.transport === 'UDP' ? String(outcome.gaps) : '-',
        outcome.transport === 'UDP' ? String(outcome.resyncs) : '-',
        String(outcome.wrongWithoutRepair),
        String(outcome.wrongAtEnd),
      ]),
    ),
  );
  say(
    `\nUDP: what arrives is on time and what is lost is known (the gaps) and repaired (a snapshot); TCP: everything arrives, late by its retransmissions, and every tick behind a lost segment waits for it.`,
  );
}

export const udpDemo: Demo = {
  summary: 'the same ticks over UDP and TCP through a lossy link (1, 10, 30 %): gaps and resyncs',
  run,
};
