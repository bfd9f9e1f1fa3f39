import {
  toProtoReservationState,
  type InventoryServiceService,
  type Reservation as ProtoReservation,
  type Stock as ProtoStock,
} from '@switchboard/contracts';
import type { ServiceHandlers } from '@switchboard/grpc';
import type { Inventory } from '../../domain/inventory.js';
import type { StockChangeFeed } from '../../domain/stock-change-feed.js';
import type { Reservation, Stock } from '../../domain/types.js';

/**
 * The Inventory API over gRPC: protobuf messages in, domain calls, protobuf messages out.
 * Errors are AppErrors; the gRPC lib maps them to status codes through the one table. The
 * call's signal goes along so work for a caller who has gone away is not started.
 */
export function createInventoryHandlers(
  inventory: Inventory,
  stockChanges: StockChangeFeed,
): ServiceHandlers<typeof InventoryServiceService> {
  return {
    async reserve(request, { signal }) {
      const reservation = await inventory.reserve(
        {
          orderId: request.orderId,
          items: request.items.map(({ sku, quantity }) => ({ sku, quantity })),
          ttlSeconds: request.ttlSeconds,
        },
        { signal },
      );
      return { reservation: toProtoReservation(reservation) };
    },

    async release(request, { signal }) {
      const reservation = await inventory.release(request.orderId, { signal });
      return { reservation: toProtoReservation(reservation) };
    },

    async getStock(request, { signal }) {
      return { stock: toProtoStock(await inventory.getStock(request.sku, { signal })) };
    },

    // The stock now, then after every change, until the caller cancels (the signal aborts).
    async *watchStock(request, { signal }) {
      // Listening starts before the read, so a change between the two is not missed.
      const changes = stockChanges.watch(request.sku, signal);
      try {
        const current = await inventory.getStock(request.sku, { signal });
        yield { stock: toProtoStock(current) };
        for await (const { onHand, reserved, available } of changes) {
          yield { stock: { sku: current.sku, name: current.name, onHand, reserved, available } };
        }
      } finally {
        changes.close();
      }
    },

    async listStock(request, { signal }) {
      const page = await inventory.listStock(
        { pageSize: request.pageSize, pageToken: request.pageToken },
        { signal },
      );
      return { stock: page.stock.map(toProtoStock), nextPageToken: page.nextPageToken };
    },
  };
}

function toProtoReservation(reservation: Reservation): ProtoReservation {
  return {
    orderId: reservation.orderId,
    items: reservation.items.map(({ sku, quantity }) => ({ sku, quantity })),
    state: toProtoReservationState(reservation.state),
    expiresAt: reservation.expiresAt,
  };
}

function toProtoStock(stock: Stock): ProtoStock {
  return {
    sku: stock.sku,
    name: stock.name,
    onHand: stock.onHand,
    reserved: stock.reserved,
    available: stock.available,
  };
}
