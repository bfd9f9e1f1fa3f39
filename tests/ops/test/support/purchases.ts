import { randomUUID } from 'node:crypto';

export interface Outcome {
  status: number;
  /** The error code of a failed purchase, or what went wrong on the wire. */
  detail: string;
}

/** One purchase of one unit, with a fresh Idempotency-Key; never throws. */
export async function buy(baseUrl: string, sku: string): Promise<Outcome> {
  try {
    const response = await fetch(`${baseUrl}/v1/purchases`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ customerId: 'c-ops', items: [{ sku, quantity: 1 }] }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    return { status: response.status, detail: response.status === 201 ? '' : text };
  } catch (error) {
    return { status: 0, detail: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * A steady load: `workers` clients buying one after another until stopped. Every outcome is
 * kept, so a test can count the failures and show them.
 */
export function startLoad(baseUrl: string, sku: string, workers: number) {
  const outcomes: Outcome[] = [];
  let stopping = false;
  const loops = Array.from({ length: workers }, async () => {
    while (!stopping) outcomes.push(await buy(baseUrl, sku));
  });
  return {
    outcomes,
    async stop(): Promise<Outcome[]> {
      stopping = true;
      await Promise.all(loops);
      return outcomes;
    },
  };
}
