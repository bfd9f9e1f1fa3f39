import { InventoryServiceService } from '@switchboard/contracts';
import { createGrpcClient, type ClientTlsOptions, type MethodPolicies } from '@switchboard/grpc';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { InventoryClient } from './inventory-client.js';
import { toState, toStock } from './protobuf-mapping.js';

/**
 * How each method is called. All four are safe to retry: Reserve and Release are idempotent
 * by order id, the others only read. Only Release waits for a connection: it gives stock back
 * after a failure, where riding out a reconnect beats leaving the stock held until its TTL;
 * everything a user waits for fails fast instead.
 */
export const INVENTORY_METHODS: MethodPolicies<typeof InventoryServiceService> = {
  reserve: { idempotent: true },
  release: { idempotent: true, waitForReady: true },
  getStock: { idempotent: true },
  listStock: { idempotent: true },
};

/**
 * The InventoryClient over gRPC: one channel to the target, shared by every request. The
 * target is `dns:///host:port` (TCP) or `unix:///abs/path` (a Unix-domain socket); grpc-js
 * handles both, so TCP and UDS differ only in this string.
 */
export function createGrpcInventoryClient(options: {
  target: string;
  registry: Registry;
  logger: Logger;
  keepaliveTimeMs: number;
  /** mTLS (TCP targets only); without it, plaintext. */
  tls?: ClientTlsOptions;
}): InventoryClient {
  const grpc = createGrpcClient(InventoryServiceService, options.target, {
    registry: options.registry,
    logger: options.logger,
    peerName: 'inventory',
    methods: INVENTORY_METHODS,
    channelOptions: { 'grpc.keepalive_time_ms': options.keepaliveTimeMs },
    tls: options.tls,
  });
  return {
    async reserve(orderId, items, ttlSeconds, options) {
      const { reservation } = await grpc.reserve({ orderId, items, ttlSeconds }, options);
      return toState(reservation?.state);
    },
    async release(orderId, options) {
      await grpc.release({ orderId }, options);
    },
    async getStock(sku, options) {
      const response = await grpc.getStock({ sku }, options);
      return toStock(response.stock);
    },
    async listStock(page, options) {
      const response = await grpc.listStock(page, options);
      return { stock: response.stock.map(toStock), nextPageToken: response.nextPageToken };
    },
    async *watchStock(sku, { signal }) {
      for await (const { stock } of grpc.watchStock({ sku }, { signal })) {
        yield toStock(stock);
      }
    },
    checkHealth: (options) => grpc.checkHealth(options),
    close: () => grpc.close(),
  };
}
