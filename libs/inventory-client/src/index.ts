export type {
  CallOptions,
  InventoryClient,
  ReservationItem,
  ReservationState,
  StockLevel,
} from './inventory-client.js';
export {
  INVENTORY_TARGET_FORMS,
  parseInventoryTarget,
  type InventoryTarget,
} from './inventory-target.js';
export { createInventoryClient, type InventoryClientDeps } from './create-inventory-client.js';
export { INVENTORY_METHODS, createGrpcInventoryClient } from './grpc-inventory-client.js';
export { createNatsInventoryClient } from './nats-inventory-client.js';
