// The public surface of the contracts: generated messages and service definitions, and the
// contract's vocabulary for TypeScript code (written by hand beside them).
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
  ReservationState as ProtoReservationState,
  ReserveRequest,
  ReserveResponse,
  Stock,
} from './gen/switchboard/inventory/v1/inventory.js';
export { StockChanged } from './gen/switchboard/inventory/v1/events.js';
export { OrderCancelled, OrderConfirmed, OrderItem } from './gen/switchboard/orders/v1/events.js';
export { type OrderLine } from './order-line.js';
export {
  RESERVATION_STATES,
  fromProtoReservationState,
  toProtoReservationState,
  type ReservationState,
} from './reservation-state.js';
