// What purchase needs of inventory is the transport-neutral InventoryClient of
// @switchboard/inventory-client (ADR 9): the domain sees only this interface, never a transport.
export type {
  CallOptions,
  InventoryClient,
  ReservationState,
  Stock,
} from '@switchboard/inventory-client';
