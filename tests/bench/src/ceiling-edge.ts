/**
 * The transport ceiling of bench:purchase, in a process of its own: Fastify takes
 * POST /v1/purchases, reserves through @switchboard/inventory-client (the client purchase
 * uses, over the transport of `target`) on the canned inventory of baseline-servers.ts, and
 * answers 201 with the order. No database anywhere: what HTTP and the transport cost alone.
 * Prints `{ "port": n }` once it listens.
 *
 * argv: natsUrl, target (`dns:///127.0.0.1:port`, `unix:///path` or `nats:benchinventory.v1`).
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connectBus } from '@switchboard/bus';
import { createInventoryClient, type OrderLine } from '@switchboard/inventory-client';
import { createLogger, createMetricsRegistry } from '@switchboard/observability';
import Fastify from 'fastify';

const [natsUrl = '', target = ''] = process.argv.slice(2);
const logger = createLogger({ service: 'bench-ceiling', level: 'warn' });
const registry = createMetricsRegistry({ service: 'bench-ceiling' });
const bus = await connectBus({ servers: natsUrl, name: 'bench-ceiling', logger, registry });
const inventory = createInventoryClient(target, {
  bus,
  logger,
  registry,
  keepaliveTimeMs: 30_000,
});

interface PurchaseBody {
  customerId: string;
  items: OrderLine[];
}

const app = Fastify();
app.post<{ Body: PurchaseBody }>('/v1/purchases', async (request, reply) => {
  const orderId = randomUUID();
  const { customerId, items } = request.body;
  // The deadline purchase gives the call: its request timeout (REQUEST_TIMEOUT_MS, 5 s).
  await inventory.reserve(orderId, items, 900, { deadline: new Date(Date.now() + 5_000) });
  return reply
    .code(201)
    .header('location', `/v1/purchases/${orderId}`)
    .send({ orderId, customerId, status: 'CONFIRMED', items, createdAt: new Date().toISOString() });
});
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ port: (app.server.address() as AddressInfo).port })}\n`);
