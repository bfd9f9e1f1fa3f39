import { setTimeout } from 'node:timers/promises';

/** A thin client of purchase's public HTTP API that returns status, headers and body as sent. */

export interface OrderItem {
  sku: string;
  quantity: number;
}

export interface Order {
  orderId: string;
  customerId: string;
  status: string;
  items: OrderItem[];
  createdAt: string;
}

export interface StockLevel {
  sku: string;
  name: string;
  onHand: number;
  reserved: number;
  available: number;
}

export interface ErrorBody {
  error: {
    code: string;
    message: string;
    details?: {
      problems?: { field: string; message: string }[];
      skus?: string[];
    };
  };
}

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

export interface PurchaseRequest {
  customerId: string;
  items: OrderItem[];
}

/** Every call gets its own timeout, so a hanging server fails the test with a clear error. */
const REQUEST_TIMEOUT_MS = 30_000;

async function send<T>(url: string, init: RequestInit): Promise<ApiResponse<T>> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: kept as text, so the assertion that fails shows what came back.
  }
  return { status: response.status, headers: response.headers, body: body as T };
}

export function createPurchaseApi(baseUrl: string) {
  return {
    /** POST /v1/purchases; a string body is sent as is (to send malformed JSON). */
    purchase(
      body: PurchaseRequest | string,
      idempotencyKey?: string,
    ): Promise<ApiResponse<Order & ErrorBody>> {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
      return send(`${baseUrl}/v1/purchases`, {
        method: 'POST',
        headers,
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    },

    /**
     * POST /v1/purchases as a well-behaved client under load. What may succeed if asked again
     * is asked again, with the same Idempotency-Key (which makes that safe: one order at most):
     * a 503 (OVERLOADED, shed before any work; UNAVAILABLE, a dependency busy), a 504 (the
     * deadline passed; the work was rolled back or will be found under the key) and a 409
     * IDEMPOTENCY_KEY_IN_USE (the first attempt is still running). It waits the Retry-After
     * (1 s without one), plus jitter so the retries of a crowd spread out. Any other answer is
     * returned as it is.
     */
    async purchaseHonouringRetryAfter(
      body: PurchaseRequest,
      idempotencyKey: string,
      maxAttempts = 20,
    ): Promise<ApiResponse<Order & ErrorBody>> {
      for (let attempt = 1; ; attempt += 1) {
        const reply = await this.purchase(body, idempotencyKey);
        const retryable =
          reply.status === 503 ||
          reply.status === 504 ||
          reply.body.error?.code === 'IDEMPOTENCY_KEY_IN_USE';
        if (!retryable || attempt === maxAttempts) return reply;
        const retryAfterMs = Number(reply.headers.get('retry-after') ?? '1') * 1000;
        await setTimeout(retryAfterMs * (1 + Math.random() / 2));
      }
    },

    getPurchase(orderId: string): Promise<ApiResponse<Order & ErrorBody>> {
      return send(`${baseUrl}/v1/purchases/${encodeURIComponent(orderId)}`, { method: 'GET' });
    },

    getStock(sku: string): Promise<ApiResponse<StockLevel & ErrorBody>> {
      return send(`${baseUrl}/v1/stock/${encodeURIComponent(sku)}`, { method: 'GET' });
    },

    /** The available units of a SKU, which must exist. */
    async available(sku: string): Promise<number> {
      const { status, body } = await this.getStock(sku);
      if (status !== 200) throw new Error(`GET /v1/stock/${sku} answered ${status}`);
      return body.available;
    },
  };
}

export type PurchaseApi = ReturnType<typeof createPurchaseApi>;
