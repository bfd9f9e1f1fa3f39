import { randomUUID } from 'node:crypto';
import type { PurchaseProcess } from '@switchboard/testing';
import { withCleanup } from '../cleanup.js';
import type { Demo } from '../demos.js';
import { say, sleep } from '../narrate.js';
import { formatTable } from '../table.js';
import { forMs, timeCalls } from '../timed-calls.js';
import { readMetric, startTopology, type Topology } from '../topology.js';

// NATS stopped in the middle of a stream of purchases. A purchase needs only inventory (gRPC)
// and purchase's own database: its OrderConfirmed event is written to the outbox in the
// order's transaction, and the relay publishes it when it can. So purchases keep getting
// 201 while NATS is away, the outbox grows, and once NATS is back the relay drains it and
// inventory's consumer commits every order's reservation (docs/events.md).

const SKU = 'sku-demo';
const CLIENTS = 2;
const PHASE_MS = { before: 3_000, down: 8_000, back: 3_000 };
const DRAIN_TIMEOUT_MS = 60_000;

interface Phase {
  name: string;
  seconds: number;
  purchases: number;
  created: number;
  outboxPending: number;
  published: number;
  committed: number;
}

/** Purchases of one unit each, CLIENTS at a time, for `durationMs`; the ids of the 201s. */
async function buyFor(purchase: PurchaseProcess, durationMs: number, orderIds: string[]) {
  const url = `http://127.0.0.1:${purchase.ready.httpPort}/v1/purchases`;
  const timed = await timeCalls(
    async () => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({ customerId: 'demo', items: [{ sku: SKU, quantity: 1 }] }),
      });
      const body = (await response.json()) as { orderId?: string };
      if (response.status !== 201 || !body.orderId) throw new Error(`HTTP ${response.status}`);
      orderIds.push(body.orderId);
    },
    { concurrency: CLIENTS, until: forMs(durationMs) },
  );
  return { purchases: timed.calls, created: timed.latencies.length };
}

async function committedReservations(topology: Topology): Promise<Set<string>> {
  return new Set(
    await topology.psql('inventory', "SELECT order_id FROM reservations WHERE state = 'COMMITTED'"),
  );
}

export const natsDownDemo: Demo = {
  summary: 'NATS stopped in the middle of purchases: the outbox absorbs them, then drains',
  run: () =>
    withCleanup(async (stack) => {
      const topology = await startTopology(stack, [{ sku: SKU, name: 'Demo', onHand: 1e9 }]);
      const purchase = await topology.startPurchase();
      const orderIds: string[] = [];
      const phases: Phase[] = [];
      let publishedBefore = 0;
      /** Closes a phase: reads purchase's outbox metrics and inventory's committed reservations. */
      const record = async (
        name: string,
        startedAt: number,
        bought = { purchases: 0, created: 0 },
      ) => {
        const published = await readMetric(purchase, 'outbox_published_total');
        const phase: Phase = {
          name,
          seconds: (performance.now() - startedAt) / 1000,
          ...bought,
          outboxPending: await readMetric(purchase, 'outbox_pending_events'),
          published: published - publishedBefore,
          committed: (await committedReservations(topology)).size,
        };
        publishedBefore = published;
        phases.push(phase);
        say(
          `   ${phase.created} of ${phase.purchases} purchases got 201; outbox pending ${phase.outboxPending}; events published ${phase.published}; reservations committed so far ${phase.committed}`,
        );
      };

      say(`\n1. NATS up: ${CLIENTS} clients buying for ${PHASE_MS.before / 1000} s...`);
      let startedAt = performance.now();
      await record('NATS up', startedAt, await buyFor(purchase, PHASE_MS.before, orderIds));

      say(`2. Stopping NATS (docker stop), and buying on for ${PHASE_MS.down / 1000} s...`);
      startedAt = performance.now();
      await topology.nats.halt();
      say('   NATS is down.');
      await record('NATS stopped', startedAt, await buyFor(purchase, PHASE_MS.down, orderIds));

      say(`3. Starting NATS again (docker start), buying on for ${PHASE_MS.back / 1000} s...`);
      startedAt = performance.now();
      await topology.nats.resume();
      say('   NATS is back.');
      await record('NATS back', startedAt, await buyFor(purchase, PHASE_MS.back, orderIds));

      say('4. No more purchases: waiting for the relay to drain and inventory to commit...');
      startedAt = performance.now();
      let missing = orderIds.length;
      while (performance.now() - startedAt < DRAIN_TIMEOUT_MS) {
        const committed = await committedReservations(topology);
        missing = orderIds.filter((orderId) => !committed.has(orderId)).length;
        const pending = await readMetric(purchase, 'outbox_pending_events');
        if (missing === 0 && pending === 0) break;
        await sleep(500);
      }
      await record('drained', startedAt);

      say('');
      say(
        formatTable(
          [
            'phase',
            'seconds',
            'purchases',
            '201s',
            'outbox pending at its end',
            'events published',
            'reservations committed (total)',
          ],
          phases.map((phase) => [
            phase.name,
            phase.seconds.toFixed(1),
            String(phase.purchases),
            String(phase.created),
            String(phase.outboxPending),
            String(phase.published),
            String(phase.committed),
          ]),
        ),
      );
      say(
        `\n${orderIds.length} purchases got 201; ${orderIds.length - missing} of their reservations are committed: ${missing} lost.`,
      );
      if (missing > 0) throw new Error(`${missing} orders' reservations were not committed`);
    }),
};
