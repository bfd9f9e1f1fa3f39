/**
 * A rolling restart of inventory under a steady purchase load, with real processes and real
 * signals: two inventory instances behind purchase's one gRPC channel; each in turn gets
 * SIGTERM, drains, exits, and comes back. Not one purchase may fail.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfrastructure, type Infrastructure } from './support/infrastructure.js';
import { freePort, killAll, startService, type ServiceProcess } from './support/processes.js';
import { startLoad } from './support/purchases.js';

const SKU = 'sku-rolling';
let infrastructure: Infrastructure;

beforeAll(async () => {
  infrastructure = await startInfrastructure([{ sku: SKU, name: 'Rolling', onHand: 1_000_000 }]);
});

afterAll(async () => {
  await killAll();
  await infrastructure?.stop();
});

interface InventorySlot {
  name: string;
  grpcPort: number;
  opsPort: number;
}

function startInventory(slot: InventorySlot): Promise<ServiceProcess> {
  return startService('inventory', slot.name, {
    DATABASE_URL: infrastructure.inventoryDatabaseUrl,
    NATS_URL: infrastructure.nats.url,
    SEED_FILE: infrastructure.seedFile,
    GRPC_HOST: '127.0.0.1',
    GRPC_PORT: String(slot.grpcPort),
    OPS_HOST: '127.0.0.1',
    OPS_PORT: String(slot.opsPort),
    SHUTDOWN_DELAY_MS: '500',
  });
}

/** Reserve calls this instance has answered, from its own /metrics. */
async function reservesServed(instance: ServiceProcess): Promise<number> {
  const text = await (await fetch(`${instance.opsUrl}/metrics`)).text();
  const line =
    /^grpc_server_handled_total\{[^}]*grpc_method="Reserve"[^}]*grpc_code="OK"[^}]*\} (\d+)/m;
  return Number(line.exec(text)?.[1] ?? 0);
}

describe('a rolling restart of inventory', () => {
  it('under a steady purchase load, loses not one purchase', async () => {
    const slots: InventorySlot[] = [
      { name: 'inventory-a', grpcPort: await freePort(), opsPort: await freePort() },
      { name: 'inventory-b', grpcPort: await freePort(), opsPort: await freePort() },
    ];
    const instances = await Promise.all(slots.map(startInventory));
    const httpPort = await freePort();
    await startService('purchase', 'purchase', {
      DATABASE_URL: infrastructure.purchaseDatabaseUrl,
      NATS_URL: infrastructure.nats.url,
      // Both instances, as a DNS name with two replicas would resolve; round_robin spreads.
      INVENTORY_TARGET: `ipv4:${slots.map((slot) => `127.0.0.1:${slot.grpcPort}`).join(',')}`,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(httpPort),
      OPS_HOST: '127.0.0.1',
      OPS_PORT: String(await freePort()),
    });
    const load = startLoad(`http://127.0.0.1:${httpPort}`, SKU, 4);

    for (const [index, slot] of slots.entries()) {
      await sleep(1_000);
      const old = instances[index]!;
      old.signal('SIGTERM');
      const exit = await old.exited;
      expect(exit.code, `${slot.name} did not stop cleanly:\n${old.output()}`).toBe(0);
      const fresh = await startInventory(slot);
      instances[index] = fresh;
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
