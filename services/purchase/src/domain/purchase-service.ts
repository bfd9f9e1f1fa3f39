import { createHash, randomUUID } from 'node:crypto';
import { AppError, isAppError } from '@switchboard/errors';
import type { CallOptions, InventoryClient } from './inventory-client.js';
import type { Logger } from './logger.js';
import type { Order, PurchaseOutcome, PurchaseRequest } from './order.js';
import type { OrderStore } from './order-store.js';
import type { ReservationReleaser } from './reservation-releaser.js';

export interface PurchaseResult {
  outcome: PurchaseOutcome;
  /** True when the outcome was stored by an earlier request with the same key. */
  replayed: boolean;
}

/**
 * The purchase flow: claim the Idempotency-Key, reserve stock on inventory, store the order.
 * A definitive answer (order or refusal) is stored under the key. On any other failure the
 * Reserve may have been done at inventory all the same, so its reservation is released at
 * once, in the background, and the key is forgotten: the client's retry starts over under a
 * new order id, which the Release of this one cannot touch.
 */
export function createPurchaseService(deps: {
  store: OrderStore;
  inventory: InventoryClient;
  releaser: ReservationReleaser;
  logger: Logger;
  reservationTtlSeconds: number;
  /** How long a claimed key stays locked: longer than any request may run. */
  keyLockMs: number;
  now?: () => Date;
}) {
  const { store, inventory, releaser } = deps;
  const now = deps.now ?? (() => new Date());

  async function purchase(
    key: string,
    request: PurchaseRequest,
    call: CallOptions,
  ): Promise<PurchaseResult> {
    const problems = validatePurchase(request);
    if (problems.length > 0) {
      throw new AppError('INVALID_ARGUMENT', 'the purchase is invalid', { details: { problems } });
    }

    const claim = await store.claimKey(key, fingerprintOf(request), randomUUID(), deps.keyLockMs);
    switch (claim.kind) {
      case 'completed':
        return { outcome: claim.outcome, replayed: true };
      case 'mismatch':
        throw new AppError(
          'IDEMPOTENCY_KEY_REUSED',
          'this Idempotency-Key was used with a different request',
        );
      case 'in-progress':
        throw new AppError(
          'IDEMPOTENCY_KEY_IN_USE',
          'a request with this Idempotency-Key is still in progress',
        );
      case 'owned':
        return { outcome: await placeOrder(key, claim.orderId, request, call), replayed: false };
    }
  }

  async function placeOrder(
    key: string,
    orderId: string,
    request: PurchaseRequest,
    call: CallOptions,
  ): Promise<PurchaseOutcome> {
    let state;
    try {
      state = await inventory.reserve(orderId, request.items, deps.reservationTtlSeconds, call);
    } catch (error) {
      const refusal = refusalOf(error, request);
      if (!refusal) {
        // The deadline passed, the client went away, the connection broke after the call was
        // sent: inventory may hold the stock all the same, or may still be about to. Release
        // works even before the Reserve arrives (inventory then refuses the late Reserve).
        releaser.releaseSoon(orderId, reasonOf(error));
        await giveUpKey(key, orderId);
        throw error;
      }
      await store.saveRefusal(key, orderId, refusal);
      return refusal;
    }
    if (state === 'RELEASED') {
      // The order's reservation expired, or an earlier attempt under this order id failed and
      // released it (its request crashed and its key lock ran out): start over afresh.
      await store.deleteKey(key, orderId);
      throw new AppError('UNAVAILABLE', 'the reservation of an earlier attempt expired; retry');
    }

    const order: Order = {
      orderId,
      customerId: request.customerId,
      status: 'CONFIRMED',
      items: request.items,
      createdAt: now().toISOString(),
    };
    try {
      await store.saveOrder(key, order);
    } catch (error) {
      // No order without its stock, and no stock held without its order: give it back now
      // rather than wait for the reservation to expire.
      releaser.releaseSoon(orderId, 'order not stored');
      await giveUpKey(key, orderId);
      throw error;
    }
    return { ok: true, order };
  }

  /**
   * Forgets the key so a retry starts over under a new order id. If even that fails, the key
   * stays locked for keyLockMs, longer than a background release may take, and a retry after
   * that finds this order released and starts over then.
   */
  async function giveUpKey(key: string, orderId: string): Promise<void> {
    await store.deleteKey(key, orderId).catch((error: unknown) => {
      deps.logger.warn({ err: error, orderId }, 'could not forget the Idempotency-Key');
    });
  }

  return {
    purchase,
    findOrder: (orderId: string) => store.findOrder(orderId),
  };
}

export type PurchaseService = ReturnType<typeof createPurchaseService>;

function reasonOf(error: unknown): string {
  return isAppError(error) ? error.code : 'error';
}

/** Inventory's definitive refusals become stored outcomes; anything else is transient. */
function refusalOf(error: unknown, request: PurchaseRequest): PurchaseOutcome | undefined {
  if (!isAppError(error)) return undefined;
  const skus = Array.isArray(error.details?.skus) ? (error.details.skus as string[]) : [];
  if (error.code === 'INSUFFICIENT_STOCK') {
    return {
      ok: false,
      error: {
        code: 'INSUFFICIENT_STOCK',
        message: `not enough stock for ${skus.join(', ')}`,
        details: { skus },
      },
    };
  }
  if (error.code === 'NOT_FOUND') {
    const problems = request.items.flatMap((item, index) =>
      skus.includes(item.sku)
        ? [{ field: `/items/${index}/sku`, message: `unknown SKU ${item.sku}` }]
        : [],
    );
    return {
      ok: false,
      error: {
        code: 'INVALID_ARGUMENT',
        message: `unknown SKU: ${skus.join(', ')}`,
        details: { problems, skus },
      },
    };
  }
  return undefined;
}

/** Rules the JSON schema cannot say. */
function validatePurchase(request: PurchaseRequest): { field: string; message: string }[] {
  const seen = new Set<string>();
  return request.items.flatMap((item, index) => {
    if (seen.has(item.sku))
      return [{ field: `/items/${index}/sku`, message: `SKU ${item.sku} appears twice` }];
    seen.add(item.sku);
    return [];
  });
}

/** Same purchase, same fingerprint: replays compare what the request asked for. */
export function fingerprintOf(request: PurchaseRequest): string {
  const canonical = JSON.stringify({
    customerId: request.customerId,
    items: request.items.map(({ sku, quantity }) => ({ sku, quantity })),
  });
  return createHash('sha256').update(canonical).digest('hex');
}
