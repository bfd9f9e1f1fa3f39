import { InventoryServiceService, ReservationState, type Stock } from '@switchboard/contracts';
import { AppError } from '@switchboard/errors';
import { createGrpcClient } from '@switchboard/grpc';
import type { Registry } from 'prom-client';
import type {
  InventoryClient,
  ReservationState as State,
  StockLevel,
} from '../domain/inventory-client.js';

/** The InventoryClient over gRPC: one channel to the target, shared by every request. */
export function createGrpcInventoryClient(target: string, registry: Registry): InventoryClient {
  const grpc = createGrpcClient(InventoryServiceService, target, {
    registry,
    peerName: 'inventory',
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
