/**
 * A rolling restart of inventory under a steady purchase load, with real processes and real
 * signals: two inventory instances behind purchase's one gRPC channel; each in turn gets
 * SIGTERM, drains, exits, and comes back. Not one purchase may fail.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfrastructure, type Infrastructure } from './support/infrastructure.js';
import {
  opsUrl,
  startInventoryProcess,
  startPurchaseProcess,
  type InventoryProcess,
} from '@switchboard/testing';
import { startLoad } from './support/purchases.js';

const SKU = 'sku-rolling';
let infrastructure: Infrastructure;

beforeAll(async () => {
  infrastructure = await startInfrastructure([{ sku: SKU, name: 'Rolling', onHand: 1_000_000 }]);
});

afterAll(async () => {
  await infrastructure?.[Symbol.asyncDispose]();
});

/**
 * An inventory instance; `grpcPort` 0 lets it choose. A restarted instance must come back on
 * the port it had: purchase's channel knows each instance by its address.
 */
function startInventoryInstance(name: string, grpcPort = 0): Promise<InventoryProcess> {
  return startInventoryProcess(name, {
    DATABASE_URL: infrastructure.inventoryDatabaseUrl,
    NATS_URL: infrastructure.nats.url,
    SEED_FILE: infrastructure.seedFile,
    GRPC_HOST: '127.0.0.1',
    GRPC_PORT: String(grpcPort),
    OPS_HOST: '127.0.0.1',
    SHUTDOWN_DELAY_MS: '500',
  });
}

/** Reserve calls this instance has answered, from its own /metrics. */
async function reservesServed(instance: InventoryProcess): Promise<number> {
  const text = await (await fetch(`${opsUrl(instance)}/metrics`)).text();
  const line =
    /^grpc_server_handled_total\{[^}]*grpc_method="Reserve"[^}]*grpc_code="OK"[^}]*\} (\d+)/m;
  return Number(line.exec(text)?.[1] ?? 0);
}

describe('a rolling restart of inventory', () => {
  it('under a steady purchase load, loses not one purchase', async () => {
    // Whatever the test started, stopped when it ends, passed or failed.
    await using processes = new AsyncDisposableStack();
    const instances = await Promise.all(
      ['inventory-a', 'inventory-b'].map(async (name) =>
        processes.use(await startInventoryInstance(name)),
      ),
    );
    const purchase = processes.use(
      await startPurchaseProcess('purchase', {
        DATABASE_URL: infrastructure.purchaseDatabaseUrl,
        NATS_URL: infrastructure.nats.url,
        // Both instances, as a DNS name with two replicas would resolve; round_robin spreads.
        INVENTORY_TARGET: `ipv4:${instances.map((each) => `127.0.0.1:${each.ready.grpcPort}`).join(',')}`,
        HTTP_HOST: '127.0.0.1',
        OPS_HOST: '127.0.0.1',
      }),
    );
    const load = startLoad(`http://127.0.0.1:${purchase.ready.httpPort}`, SKU, 4);

    for (const old of instances) {
      await sleep(1_000);
      old.signal('SIGTERM');
      const exit = await old.exited;
      expect(exit.code, `${old.name} did not stop cleanly:\n${old.output()}`).toBe(0);
      const fresh = processes.use(await startInventoryInstance(old.name, old.ready.grpcPort));
      // As a rollout waits for the new replica before it stops the next one, wait until
      // purchase's channel sends the new instance its share of the calls.
      await expect
        .poll(() => reservesServed(fresh), { timeout: 20_000, interval: 100 })
        .toBeGreaterThan(0);
    }
    await sleep(1_000);
    const outcomes = await load.stop();

    const failures = outcomes.filter((outcome) => outcome.status !== 201);
    expect(failures, JSON.stringify(failures.slice(0, 5))).toEqual([]);
    expect(outcomes.length).toBeGreaterThan(100);
  });
});
