import { InventoryServiceService, ReservationState, type Stock } from '@switchboard/contracts';
import { AppError } from '@switchboard/errors';
import { createGrpcClient, type MethodPolicies } from '@switchboard/grpc';
import type { Logger } from '@switchboard/observability';
import type { Registry } from 'prom-client';
import type {
  InventoryClient,
  ReservationState as State,
  StockLevel,
} from '../domain/inventory-client.js';

/**
 * How purchase calls each method. All four are safe to retry: Reserve and Release are
 * idempotent by order id, the others only read. Only Release waits for a connection: it gives
 * stock back after a failure, where riding out a reconnect beats leaving the stock held until
 * its TTL; everything a user waits for fails fast instead.
 */
export const INVENTORY_METHODS: MethodPolicies<typeof InventoryServiceService> = {
  reserve: { idempotent: true },
  release: { idempotent: true, waitForReady: true },
  getStock: { idempotent: true },
  listStock: { idempotent: true },
};

/** The InventoryClient over gRPC: one channel to the target, shared by every request. */
export function createGrpcInventoryClient(options: {
  target: string;
  registry: Registry;
  logger: Logger;
  keepaliveTimeMs: number;
}): InventoryClient {
  const grpc = createGrpcClient(InventoryServiceService, options.target, {
    registry: options.registry,
    logger: options.logger,
    peerName: 'inventory',
    methods: INVENTORY_METHODS,
    channelOptions: { 'grpc.keepalive_time_ms': options.keepaliveTimeMs },
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
      return toStockLevel(response.stock);
    },
    async listStock(page, options) {
      const response = await grpc.listStock(page, options);
      return { stock: response.stock.map(toStockLevel), nextPageToken: response.nextPageToken };
    },
    checkHealth: (options) => grpc.checkHealth(options),
    close: () => grpc.close(),
  };
}

function toStockLevel(stock: Stock | undefined): StockLevel {
  const { sku = '', name = '', onHand = 0, reserved = 0, available = 0 } = stock ?? {};
  return { sku, name, onHand, reserved, available };
}

function toState(state: ReservationState | undefined): State {
  switch (state) {
    case ReservationState.RESERVATION_STATE_RESERVED:
      return 'RESERVED';
    case ReservationState.RESERVATION_STATE_COMMITTED:
      return 'COMMITTED';
    case ReservationState.RESERVATION_STATE_RELEASED:
      return 'RELEASED';
    default:
      throw new AppError(
        'INTERNAL',
        `inventory answered Reserve with reservation state ${String(state)}`,
      );
  }
}
