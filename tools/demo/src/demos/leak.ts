import { readdir } from 'node:fs/promises';
import { InventoryServiceService } from '@switchboard/contracts';
import { createGrpcClient, type GrpcClient } from '@switchboard/grpc';
import { createMetricsRegistry } from '@switchboard/observability';
import { startCountingProxy } from '@switchboard/testing';
import type { Demo } from '../demos.js';
import { say } from '../narrate.js';
import { formatTable } from '../table.js';
import { serveGetStock } from './inventory-stub.js';

// A connection leak: a client made for each request and never closed. Each keeps its TCP
// connection (and the server's end of it) open long after its call, until the process runs
// out of file descriptors or the server out of sockets. The gauges show it: the sockets the
// server holds, and this process's open file descriptors, climb with every request and fall
// back only when the clients are closed.

const REQUESTS = 200;
const STEP = 50;

/** This process's open file descriptors: each TCP socket is one. */
async function openDescriptors(): Promise<number> {
  return (await readdir('/proc/self/fd')).length;
}

export const leakDemo: Demo = {
  summary: 'a connection leak (clients never closed), and how the gauges show it',
  async run() {
    const inventory = await serveGetStock(0);
    const proxy = await startCountingProxy(inventory.port);
    const rows: string[][] = [];
    const sample = async (step: string) =>
      rows.push([step, String(proxy.open()), String(await openDescriptors())]);
    const leaked: GrpcClient<typeof InventoryServiceService>[] = [];
    try {
      await sample('at start');
      say(`${REQUESTS} requests, each making its own gRPC client and never closing it...`);
      for (let request = 1; request <= REQUESTS; request++) {
        const client = createGrpcClient(InventoryServiceService, `dns:///127.0.0.1:${proxy.port}`, {
          registry: createMetricsRegistry({ service: 'demo' }),
          peerName: 'inventory',
          // Its own connection, as a client made per request with its own options gets.
          channelOptions: { 'grpc.use_local_subchannel_pool': 1 },
        });
        await client.getStock({ sku: 'sku-1' }, { deadline: new Date(Date.now() + 10_000) });
        leaked.push(client); // the bug: nothing ever calls client.close()
        if (request % STEP === 0) {
          await sample(`after ${request} requests, none closed`);
          say(`   ${request} requests: ${proxy.open()} connections open at the server`);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await sample('1 s later, idle');
      say('The calls are long done, and every socket is still open. Now close the clients...');
      for (const client of leaked.splice(0)) client.close();
      for (let i = 0; i < 50 && proxy.open() > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await sample('after close(): the clients closed their ends');
      // The server's ends and the proxy's upstream ones close as the FINs arrive.
      const [startDescriptors] = rows[0]!.slice(2).map(Number);
      for (let i = 0; i < 100 && (await openDescriptors()) > startDescriptors!; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await sample('then the server closed its ends');
      say('');
      say(
        formatTable(
          ['step', 'connections open at the server', 'file descriptors in this process'],
          rows,
        ),
      );
      say('(Client, proxy and server run in this process: a connection is 4 descriptors here.)');
      say('');
      say('The fix: one client per peer, made at start and closed at the stop (libs/lifecycle).');
    } finally {
      for (const client of leaked) client.close();
      await proxy.close();
      await inventory.stop();
    }
  },
};
