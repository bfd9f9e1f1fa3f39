import type { Order } from '../domain/order.js';
import type { OrderStore } from '../domain/order-store.js';

/**
 * The store, telling `onSaved` of each order once its transaction has committed: the live
 * feed's order stream. A replay of a stored outcome saves nothing and tells nothing.
 */
export function withOrderNotifications(
  store: OrderStore,
  onSaved: (order: Order) => void,
): OrderStore {
  return {
    ...store,
    async saveOrder(key, order) {
      await store.saveOrder(key, order);
      onSaved(order);
    },
  };
}
