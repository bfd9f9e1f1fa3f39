import { randomUUID } from 'node:crypto';
import { setTimeout } from 'node:timers/promises';
import type { PurchaseApi } from '../../test/support/purchase-api.js';

/** What a steady purchase load saw, from the clients' side. */
export interface LoadReport {
  /** The orders answered 201, one per purchase (a retry with the same key keeps its order). */
  orderIds: string[];
  /** Purchases that ended without a 201 after every retry, with the last answer. */
  failed: string[];
  /** Purchases whose first attempt was not a 201 (a retry then decided them). */
  retried: number;
  /** Every non-201 answer of any attempt, by status (0: the connection failed). */
  errorStatuses: Record<number, number>;
}

export interface SteadyLoad {
  /** Purchases decided so far (201 or failed). */
  decided(): number;
  /** Stops starting purchases, waits for those in flight, and reports. */
  stop(): Promise<LoadReport>;
}

/** Answers a client may ask again with the same Idempotency-Key, which makes it safe. */
function retryable(status: number, code: string | undefined): boolean {
  // 0: the connection broke (the replica died under it); 502: the balancer lost the replica
  // mid-request; 503: shed or a dependency unavailable; 504: the deadline passed; 409
  // IDEMPOTENCY_KEY_IN_USE: the first attempt still runs.
  return [0, 502, 503, 504].includes(status) || code === 'IDEMPOTENCY_KEY_IN_USE';
}

/**
 * `clients` buyers, each buying one unit of `sku`, pausing `pauseMs` between purchases, so
 * the load is steady and modest. Each purchase has its own Idempotency-Key (unique per run) and
 * is asked again with it, up to 20 times, while the answer says that is safe.
 */
export function startSteadyLoad(
  api: PurchaseApi,
  options: { sku: string; clients: number; pauseMs: number },
): SteadyLoad {
  const report: LoadReport = { orderIds: [], failed: [], retried: 0, errorStatuses: {} };
  let stopped = false;

  async function buyOnce(): Promise<void> {
    const key = `cluster-${randomUUID()}`;
    const body = {
      customerId: `customer-${randomUUID()}`,
      items: [{ sku: options.sku, quantity: 1 }],
    };
    for (let attempt = 1; ; attempt += 1) {
      const reply = await api.purchase(body, key).catch(() => undefined);
      const status = reply?.status ?? 0;
      if (status === 201) {
        report.orderIds.push(reply!.body.orderId);
        return;
      }
      report.errorStatuses[status] = (report.errorStatuses[status] ?? 0) + 1;
      if (attempt === 1) report.retried += 1;
      if (!retryable(status, reply?.body.error?.code) || attempt === 20) {
        report.failed.push(`${status} ${JSON.stringify(reply?.body ?? 'no answer')}`);
        return;
      }
      const retryAfterMs = Number(reply?.headers.get('retry-after') ?? '0.5') * 1000;
      await setTimeout(retryAfterMs * (1 + Math.random() / 2));
    }
  }

  async function client(): Promise<void> {
    while (!stopped) {
      await buyOnce();
      await setTimeout(options.pauseMs);
    }
  }

  const clients = Promise.all(Array.from({ length: options.clients }, client));
  return {
    decided: () => report.orderIds.length + report.failed.length,
    async stop() {
      stopped = true;
      await clients;
      return report;
    },
  };
}
