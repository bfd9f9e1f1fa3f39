import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Which packets the link drops: `random` drops each with probability p (iptables statistic
 * --mode random); `nth` drops packet number `packet` of every `every` (0-based), so a test
 * knows exactly which.
 */
export type Loss =
  { mode: 'random'; probability: number } | { mode: 'nth'; every: number; packet: number };

export interface LossyLinkOptions {
  loss: Loss;
  /** Where the link delivers, on this machine's side: the receiver's UDP and TCP ports on 0.0.0.0. */
  udpTargetPort?: number;
  tcpTargetPort?: number;
}

export interface LossyLink {
  /** Send here instead of to the target: through the namespace, where packets are dropped. */
  udp?: { host: string; port: number };
  tcp?: { host: string; port: number };
  /** Packets iptables dropped so far, by protocol. */
  dropped(): Promise<{ udp: number; tcp: number }>;
  /** Removes the relay, the namespace and the veth pair. */
  close(): Promise<void>;
}

// The relay inside the namespace, plain JavaScript so it needs no build: each UDP datagram
// is sent on as one datagram, each TCP connection piped to a new one to the target.
const RELAY = `
const dgram = require('node:dgram'); const net = require('node:net');
const [host, peer, udpTo, tcpTo] = process.argv.slice(1);
const ready = [];
if (udpTo !== '0') {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (bytes) => socket.send(bytes, Number(udpTo), peer));
  socket.on('error', () => {});
  ready.push(new Promise((resolve) => socket.bind(Number(udpTo), host, resolve)));
}
if (tcpTo !== '0') {
  const server = net.createServer((client) => {
    client.setNoDelay(true);
    const upstream = net.connect(Number(tcpTo), peer, () => upstream.setNoDelay(true));
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy()); upstream.on('error', () => client.destroy());
  });
  ready.push(new Promise((resolve) => server.listen(Number(tcpTo), host, resolve)));
}
Promise.all(ready).then(() => console.log('ready'));
`;

let links = 0;

/**
 * A real lossy network path on one machine, for tests and demos that must see packets
 * really dropped: a network namespace joined to this one by a veth pair, a relay inside it
 * on the same ports as the targets, and iptables in the namespace dropping what arrives
 * (tc netem is not in every kernel; iptables' statistic match is). Needs root, `ip` and
 * `iptables`. Never touches the host's own interfaces or rules.
 */
export async function createLossyLink(options: LossyLinkOptions): Promise<LossyLink> {
  links += 1;
  const id = `${process.pid % 100_000}x${links}`;
  const namespace = `sb-loss-${id}`;
  const [outside, inside] = [`sbo${id}`, `sbi${id}`];
  // A /30 of its own, from the pid: parallel runs do not share one.
  const octet = (process.pid + links * 7) % 250;
  const [hostIp, namespaceIp] = [`10.213.${octet}.1`, `10.213.${octet}.2`];
  const inNamespace = (...command: string[]) => run('ip', ['netns', 'exec', namespace, ...command]);
  let relay: ChildProcess | undefined;

  const close = async () => {
    if (relay && relay.exitCode === null) {
      relay.kill('SIGKILL');
      await once(relay, 'exit').catch(() => {});
    }
    // Deleting the namespace deletes its veth end, and with it the pair, and its iptables rules.
    await run('ip', ['netns', 'delete', namespace]).catch(() => {});
    await run('ip', ['link', 'delete', outside]).catch(() => {});
  };

  try {
    await run('ip', ['netns', 'add', namespace]);
    await run('ip', ['link', 'add', outside, 'type', 'veth', 'peer', 'name', inside]);
    await run('ip', ['link', 'set', inside, 'netns', namespace]);
    await run('ip', ['addr', 'add', `${hostIp}/30`, 'dev', outside]);
    await run('ip', ['link', 'set', outside, 'up']);
    await inNamespace('ip', 'addr', 'add', `${namespaceIp}/30`, 'dev', inside);
    await inNamespace('ip', 'link', 'set', inside, 'up');
    await inNamespace('ip', 'link', 'set', 'lo', 'up');
    const statistic =
      options.loss.mode === 'random'
        ? ['--mode', 'random', '--probability', String(options.loss.probability)]
        : [
            '--mode',
            'nth',
            '--every',
            String(options.loss.every),
            '--packet',
            String(options.loss.packet),
          ];
    for (const [protocol, port] of [
      ['udp', options.udpTargetPort],
      ['tcp', options.tcpTargetPort],
    ] as const) {
      if (port === undefined) continue;
      // Only packets coming in on the veth, to the relay: the way from sender to receiver.
      await inNamespace(
        'iptables',
        '-A',
        'INPUT',
        '-i',
        inside,
        '-p',
        protocol,
        '--dport',
        String(port),
        '-m',
        'statistic',
        ...statistic,
        '-j',
        'DROP',
      );
    }
    relay = spawn(
      'ip',
      [
        'netns',
        'exec',
        namespace,
        process.execPath,
        '-e',
        RELAY,
        namespaceIp,
        hostIp,
        String(options.udpTargetPort ?? 0),
        String(options.tcpTargetPort ?? 0),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [ready] = (await once(relay.stdout!, 'data')) as [Buffer];
    if (!ready.toString().startsWith('ready')) throw new Error(`relay: ${ready.toString()}`);
  } catch (error) {
    await close();
    throw error;
  }

  return {
    udp:
      options.udpTargetPort === undefined
        ? undefined
        : { host: namespaceIp, port: options.udpTargetPort },
    tcp:
      options.tcpTargetPort === undefined
        ? undefined
        : { host: namespaceIp, port: options.tcpTargetPort },
    async dropped() {
      const { stdout } = await inNamespace('iptables', '-L', 'INPUT', '-v', '-x', '-n');
      const count = (protocol: string) =>
        stdout
          .split('\n')
          .filter((line) => line.includes('DROP') && new RegExp(`\\s${protocol}\\s`).test(line))
          .reduce((sum, line) => sum + Number(line.trim().split(/\s+/)[0]), 0);
      return { udp: count('udp'), tcp: count('tcp') };
    },
    close,
  };
}
