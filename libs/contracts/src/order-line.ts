/**
 * One line of an order: how many of one SKU. The name TypeScript code uses everywhere: on
 * the wire it is the .proto's `Item` (inventory) and `OrderItem` (order events).
 */
export interface OrderLine {
  sku: string;
  quantity: number;
}
