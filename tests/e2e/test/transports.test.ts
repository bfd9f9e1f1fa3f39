/**
 * The same purchase over each transport purchase can call inventory by: the topology started
 * once per transport, switched by the one variable INVENTORY_TARGET. The default, gRPC over
 * TCP, is system.test.ts's topology, which purchases over it in depth.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startComposeSystem, type ComposeSystem } from './support/compose-system.js';
import { createPurchaseApi, type PurchaseApi } from './support/purchase-api.js';

const TRANSPORTS = [
  {
    name: 'gRPC over the shared Unix-domain socket',
    target: 'unix:///run/switchboard/inventory.sock',
    callMetric:
      /grpc_client_handled_total\{[^}]*grpc_method="Reserve"[^}]*grpc_code="OK"[^}]*\} [1-9]/,
  },
  {
    name: 'NATS request-reply',
    target: 'nats:inventory.v1',
    callMetric:
      /nats_request_duration_seconds_count\{[^}]*side="client"[^}]*subject="inventory\.v1\.Reserve"[^}]*outcome="OK"[^}]*\} [1-9]/,
  },
];

describe.each(TRANSPORTS)(
  'a purchase with inventory reached by $name',
  ({ target, callMetric }) => {
    let system: ComposeSystem;
    let api: PurchaseApi;

    beforeAll(async () => {
      system = await startComposeSystem({ env: { INVENTORY_TARGET: target } });
      api = createPurchaseApi(system.baseUrl);
    });

    afterAll(async () => {
      await system?.down();
    });

    it('answers 201, lowers the stock it reads back over the same transport, and calls inventory over it', async () => {
      const sku = 'sku-tote-bag';
      const before = await api.available(sku);

      const created = await api.purchase(
        { customerId: `customer-${randomUUID()}`, items: [{ sku, quantity: 1 }] },
        `e2e-${randomUUID()}`,
      );

      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(await api.available(sku)).toBe(before - 1);
      expect(await system.metricsOf('purchase')).toMatch(callMetric);
    });
  },
);
