import type { CircuitBreaker } from '@switchboard/resilience';
import type { InventoryClient } from '../domain/inventory-client.js';

/**
 * Every call to inventory goes through the circuit breaker, whatever the transport below it:
 * while inventory is down, purchases get 503 at once instead of each waiting for a connection,
 * and the breaker lets a trial call through now and then until inventory answers again.
 * The health check goes around it: readiness must see inventory as it is, not the breaker.
 */
export function withCircuitBreaker(
  inventory: InventoryClient,
  breaker: CircuitBreaker,
): InventoryClient {
  return {
    reserve: (...args) => breaker.run(() => inventory.reserve(...args)),
    release: (...args) => breaker.run(() => inventory.release(...args)),
    getStock: (...args) => breaker.run(() => inventory.getStock(...args)),
    listStock: (...args) => breaker.run(() => inventory.listStock(...args)),
    // A watch is one long call, not many short ones: nothing for the breaker to count.
    watchStock: (...args) => inventory.watchStock(...args),
    checkHealth: (options) => inventory.checkHealth(options),
    close() {
      breaker.close();
      inventory.close();
    },
  };
}
