// The public surface of the contracts: generated messages and service definitions.
export {
  InventoryServiceClient,
  InventoryServiceService,
  type InventoryServiceServer,
  GetStockRequest,
  GetStockResponse,
  Item,
  ListStockRequest,
  ListStockResponse,
  ReleaseRequest,
  ReleaseResponse,
  Reservation,
  ReservationState,
  ReserveRequest,
  ReserveResponse,
  Stock,
} from './gen/switchboard/inventory/v1/inventory.js';
export { StockChanged } from './gen/switchboard/inventory/v1/events.js';
export { OrderCancelled, OrderConfirmed, OrderItem } from './gen/switchboard/orders/v1/events.js';
