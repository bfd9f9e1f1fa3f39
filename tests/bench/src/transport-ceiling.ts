/**
 * The transport ceiling of bench:purchase: the canned inventory (baseline-servers.ts, our gRPC
 * server and NATS service answering Reserve without a database) and, for one transport at a
 * time, the Fastify edge that calls it (ceiling-edge.ts), each a process of its own. What a
 * purchase costs with no database at all: HTTP, the inventory client and the transport.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { processCpuMicros } from './cpu-clock.js';
import type { Transport } from './purchase-topology.js';

const script = (name: string) => fileURLToPath(new URL(`./${name}.js`, import.meta.url));

export interface Ceiling extends AsyncDisposable {
  startEdge(transport: Transport): Promise<{ url: string; stop(): Promise<void> }>;
  /** CPU time (µs) of the canned inventory and of the running edge. */
  cpu(): number;
}

interface CannedAddresses {
  oursTcpPort: number;
  oursSocket: string;
  oursNatsTarget: string;
}

export async function startCeiling(natsUrl: string, scratch: string): Promise<Ceiling> {
  const canned = spawn(process.execPath, [script('baseline-servers'), natsUrl, scratch], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const addresses = JSON.parse(await lineWith(canned, '"oursTcpPort"')) as CannedAddresses;
  const targets: Record<Transport, string> = {
    'grpc-tcp': `dns:///127.0.0.1:${addresses.oursTcpPort}`,
    'grpc-uds': `unix://${addresses.oursSocket}`,
    nats: addresses.oursNatsTarget,
  };
  let edge: ChildProcess | undefined;
  return {
    async startEdge(transport) {
      const child = spawn(process.execPath, [script('ceiling-edge'), natsUrl, targets[transport]], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      edge = child;
      const { port } = JSON.parse(await lineWith(child, '{"port"')) as { port: number };
      return {
        url: `http://127.0.0.1:${port}`,
        async stop() {
          await stop(child);
          edge = undefined;
        },
      };
    },
    cpu() {
      return processCpuMicros(canned.pid!) + (edge ? processCpuMicros(edge.pid!) : 0);
    },
    async [Symbol.asyncDispose]() {
      if (edge) await stop(edge);
      await stop(canned);
    },
  };
}

/** The first line of the child's output that contains `text` (log lines may come first). */
function lineWith(child: ChildProcess, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    child.once('exit', (code) =>
      reject(new Error(`process exited with ${code} before it was ready`)),
    );
    // Read to the end, so the child never blocks on a full pipe; its other lines go to stderr.
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes(text)) resolve(line);
      else process.stderr.write(`${line}\n`);
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  return exited;
}
