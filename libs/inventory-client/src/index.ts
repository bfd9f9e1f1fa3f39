export type { CallOptions, InventoryClient, Stock } from './inventory-client.js';
// The contract's vocabulary, so a caller needs no second import for the interface's types.
export type { OrderLine, ReservationState } from '@switchboard/contracts';
export {
  INVENTORY_TARGET_FORMS,
  parseInventoryTarget,
  type InventoryTarget,
} from './inventory-target.js';
export { createInventoryClient, type InventoryClientDeps } from './create-inventory-client.js';
export { INVENTORY_METHODS, createGrpcInventoryClient } from './grpc-inventory-client.js';
export { createNatsInventoryClient } from './nats-inventory-client.js';
