/**
 * The whole system as docker-compose.yml runs it, driven only through purchase's public HTTP
 * API, with state checked through that API and, for orders, in purchase's own database.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startComposeSystem, type ComposeSystem } from './support/compose-system.js';
import { runSocketAudit } from './support/socket-audit.js';
import {
  createPurchaseApi,
  type PurchaseApi,
  type PurchaseRequest,
} from './support/purchase-api.js';

let system: ComposeSystem;
let api: PurchaseApi;

beforeAll(async () => {
  system = await startComposeSystem();
  api = createPurchaseApi(system.baseUrl);
});

afterAll(async () => {
  await system?.down();
});

const newKey = () => `e2e-${randomUUID()}`;
const order = (sku: string, quantity: number): PurchaseRequest => ({
  customerId: `customer-${randomUUID()}`,
  items: [{ sku, quantity }],
});
const fieldsOf = (problems: { field: string }[] | undefined) =>
  (problems ?? []).map((p) => p.field);

// Each behaviour uses its own seeded SKU, so the tests do not see each other's reservations.

describe('a purchase', () => {
  it('answers 201 with the order, which can then be read back, and lowers available stock', async () => {
    const sku = 'sku-red-mug';
    const before = await api.available(sku);
    const request = order(sku, 2);

    const created = await api.purchase(request, newKey());

    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      customerId: request.customerId,
      status: 'CONFIRMED',
      items: [{ sku, quantity: 2 }],
    });
    expect(created.body.orderId).toEqual(expect.any(String));
    expect(Number.isNaN(Date.parse(created.body.createdAt))).toBe(false);
    expect(created.headers.get('location')).toBe(`/v1/purchases/${created.body.orderId}`);

    const read = await api.getPurchase(created.body.orderId);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);

    expect(await api.available(sku)).toBe(before - 2);
  });

  it('answers 404 NOT_FOUND for an order that does not exist', async () => {
    const { status, body } = await api.getPurchase(randomUUID());
    expect(status).toBe(404);
    expect(body.error.code).toBe('NOT_FOUND');
  });
});

describe('the Idempotency-Key', () => {
  it('replays the stored status and body for the same key and body, and reserves nothing more', async () => {
    const sku = 'sku-blue-mug';
    const key = newKey();
    const request = order(sku, 3);
    const first = await api.purchase(request, key);
    expect(first.status).toBe(201);
    const afterFirst = await api.available(sku);

    const replay = await api.purchase(request, key);

    expect(replay.status).toBe(first.status);
    expect(replay.body).toEqual(first.body);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await api.available(sku)).toBe(afterFirst);
  });

  it('answers 422 IDEMPOTENCY_KEY_REUSED for the same key with a different body', async () => {
    const sku = 'sku-blue-mug';
    const key = newKey();
    const request = order(sku, 1);
    expect((await api.purchase(request, key)).status).toBe(201);
    const afterFirst = await api.available(sku);

    const reused = await api.purchase({ ...request, items: [{ sku, quantity: 2 }] }, key);

    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await api.available(sku)).toBe(afterFirst);
  });
});

describe('a purchase that cannot be served', () => {
  it('answers 409 INSUFFICIENT_STOCK naming the SKU when more is asked than is available', async () => {
    const sku = 'sku-tote-bag';
    const before = await api.available(sku);

    const { status, body } = await api.purchase(order(sku, before + 1), newKey());

    expect(status, JSON.stringify(body)).toBe(409);
    expect(body.error.code).toBe('INSUFFICIENT_STOCK');
    expect(body.error.details?.skus).toContain(sku);
    expect(await api.available(sku)).toBe(before);
  });

  it('answers 400 naming idempotency-key when the header is missing', async () => {
    const { status, body } = await api.purchase(order('sku-tote-bag', 1));
    expect(status).toBe(400);
    expect(body.error.code).toBe('INVALID_ARGUMENT');
    expect(fieldsOf(body.error.details?.problems)).toContain('idempotency-key');
  });

  it('answers 400 naming the body when the JSON is malformed', async () => {
    const { status, body } = await api.purchase('{"customerId": "c-1", "items": [', newKey());
    expect(status).toBe(400);
    expect(body.error.code).toBe('INVALID_ARGUMENT');
    expect(fieldsOf(body.error.details?.problems)).toContain('body');
  });

  it('answers 400 naming the field of a negative quantity, and lists every problem at once', async () => {
    const { status, body } = await api.purchase(
      { customerId: '', items: [{ sku: 'sku-tote-bag', quantity: -1 }] },
      newKey(),
    );
    expect(status).toBe(400);
    expect(body.error.code).toBe('INVALID_ARGUMENT');
    const fields = fieldsOf(body.error.details?.problems);
    expect(fields).toContain('/items/0/quantity');
    expect(fields).toContain('/customerId');
  });
});

describe('under concurrent load', () => {
  it('sells a limited SKU exactly down to zero: as many 201s as units, 409 for the rest', async () => {
    const sku = 'sku-limited-poster';
    const initial = await api.available(sku);
    const attempts = 200;
    expect(initial).toBeGreaterThan(0);
    expect(initial).toBeLessThan(attempts);

    // 200 at once is more than purchase admits (ADR 11): the excess is shed with 503 OVERLOADED
    // and Retry-After, and comes back with the same key, as a well-behaved client does.
    const responses = await Promise.all(
      Array.from({ length: attempts }, () =>
        api.purchaseHonouringRetryAfter(order(sku, 1), newKey()),
      ),
    );
    // Counted per status, so a failure shows any unexpected answer (a 500, a 503) as well.
    const counts: Record<number, number> = {};
    for (const { status } of responses) counts[status] = (counts[status] ?? 0) + 1;

    expect(counts).toEqual({ 201: initial, 409: attempts - initial });
    expect(await api.available(sku)).toBe(0);
    const orders = await system.psql(
      'purchase',
      `SELECT count(DISTINCT o.id) FROM orders o JOIN order_items i ON i.order_id = o.id
        WHERE i.sku = '${sku}'`,
    );
    expect(Number(orders)).toBe(initial);
  });
});

describe('when inventory is down', () => {
  it('answers 503 UNAVAILABLE quickly, and serves purchases again once inventory is back', async () => {
    const sku = 'sku-sticker-pack';
    await system.stopService('inventory');
    try {
      const started = Date.now();
      const { status, headers, body } = await api.purchase(order(sku, 1), newKey());
      const elapsedMs = Date.now() - started;

      // The body says what went wrong instead, e.g. 504 DEADLINE_EXCEEDED.
      expect(status, JSON.stringify(body)).toBe(503);
      expect(body.error.code).toBe('UNAVAILABLE');
      expect(headers.get('retry-after')).not.toBeNull();
      // Fail fast: well inside purchase's 5 s request deadline, not by waiting it out.
      expect(elapsedMs).toBeLessThan(2_500);

      // Once failures are most of the breaker's window (10 s, here full of the earlier tests'
      // successes), the circuit opens: purchase stops calling inventory and answers 503
      // without touching the network (the exact latency is for benchmarks).
      const statuses = new Set<number>();
      await expect
        .poll(
          async () => {
            const reply = await api.purchase(order(sku, 1), newKey());
            statuses.add(reply.status);
            return reply.body.error?.message;
          },
          { timeout: 20_000, interval: 200 },
        )
        .toBe('inventory: circuit open after repeated failures');
      expect([...statuses]).toEqual([503]);
    } finally {
      await system.startService('inventory');
    }

    // purchase reconnects on its own; poll until it does, with a fresh key each time.
    await expect
      .poll(async () => (await api.purchase(order(sku, 1), newKey())).status, {
        timeout: 30_000,
        interval: 500,
      })
      .toBe(201);
  });
});

describe('when NATS stops in the middle of a purchase burst and starts again', () => {
  it('commits every 201 order exactly once, drains both outboxes, and stock ends at initial minus committed', async () => {
    const sku = 'sku-tote-bag'; // seeded with 200; the other tests here never buy it
    const count = async (database: string, sql: string) => Number(await system.psql(database, sql));
    const stock = async () => {
      const row = await system.psql(
        'inventory',
        `SELECT on_hand || ',' || reserved FROM stock WHERE sku = '${sku}'`,
      );
      const [onHand, reserved] = row.split(',').map(Number);
      return { onHand, reserved };
    };
    const initial = await stock();
    expect(initial.reserved).toBe(0);
    const statuses: number[] = [];
    const orderIds: string[] = [];
    const buy = async () => {
      const { status, body } = await api.purchase(order(sku, 1), newKey());
      statuses.push(status);
      if (status === 201) orderIds.push(body.orderId);
    };
    /** Buys `n`, `width` at a time. */
    const burst = async (n: number, width = 10) => {
      for (let i = 0; i < n; i += width) {
        await Promise.all(Array.from({ length: Math.min(width, n - i) }, buy));
      }
    };

    // 200 purchases: NATS is stopped while the first 100 run, stays down for the next 50,
    // and comes back while the last 50 run. Purchases never wait for NATS (the outbox does).
    const firstHalf = burst(100);
    await expect
      .poll(() => statuses.length, { timeout: 30_000, interval: 10 })
      .toBeGreaterThanOrEqual(50);
    await system.stopService('nats');
    await firstHalf;
    await burst(50);
    // The orders of the outage are stored and answered; their events wait in the outbox.
    expect(
      await count('purchase', 'SELECT count(*) FROM outbox WHERE published_at IS NULL'),
    ).toBeGreaterThanOrEqual(50);
    await Promise.all([system.startService('nats'), burst(50)]);

    const counts: Record<number, number> = {};
    for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
    expect(counts).toEqual({ 201: 200 });

    // Both relays publish what waited; inventory commits every confirmed order once.
    await expect
      .poll(() => count('purchase', 'SELECT count(*) FROM outbox WHERE published_at IS NULL'), {
        timeout: 60_000,
        interval: 500,
      })
      .toBe(0);
    const ids = orderIds.map((id) => `'${id}'`).join(',');
    await expect
      .poll(
        () =>
          count(
            'inventory',
            `SELECT count(*) FROM reservations WHERE state = 'COMMITTED' AND order_id IN (${ids})`,
          ),
        { timeout: 60_000, interval: 500 },
      )
      .toBe(200);
    await expect
      .poll(() => count('inventory', 'SELECT count(*) FROM outbox WHERE published_at IS NULL'), {
        timeout: 60_000,
        interval: 500,
      })
      .toBe(0);
    expect(await stock()).toEqual({ onHand: initial.onHand! - 200, reserved: 0 });

    // Across the whole run, one event per order, each stored once by JetStream and applied
    // once by inventory (its inbox), and one committed reservation per order.
    const orders = await count('purchase', 'SELECT count(*) FROM orders');
    expect(await count('purchase', 'SELECT count(*) FROM outbox')).toBe(orders);
    await expect.poll(() => system.streamMessages('ORDERS'), { timeout: 30_000 }).toBe(orders);
    await expect
      .poll(
        () => count('inventory', `SELECT count(*) FROM inbox WHERE consumer = 'inventory-orders'`),
        {
          timeout: 60_000,
          interval: 500,
        },
      )
      .toBe(orders);
    expect(
      await count('inventory', `SELECT count(*) FROM reservations WHERE state = 'COMMITTED'`),
    ).toBe(orders);
  });
});

describe('Prometheus', () => {
  it('scrapes the ops port of every service: every target is up', async () => {
    const targets = async () =>
      (await system.prometheusQuery('up')).map(({ metric, value }) => `${metric.job}=${value}`);
    // The first scrape comes within one scrape interval (5 s) of the start.
    await expect
      .poll(async () => (await targets()).sort(), { timeout: 60_000, interval: 1_000 })
      .toEqual(['inventory=1', 'prometheus=1', 'purchase=1']);
  });
});

describe('every container', () => {
  it('drops all capabilities, cannot gain privileges, has a read-only root and a non-root user, and is not health-checked by a Node process', () => {
    // dev-certs, which has exited by now, included.
    const services = system.services();
    expect(services).toEqual(
      expect.arrayContaining(['dev-certs', 'inventory', 'nats', 'postgres', 'purchase']),
    );

    const findings: string[] = [];
    for (const service of services) {
      const { Config, HostConfig } = system.inspectService(service);
      if (!HostConfig.CapDrop?.includes('ALL')) findings.push(`${service}: capabilities kept`);
      if (!HostConfig.SecurityOpt?.some((option) => option.startsWith('no-new-privileges')))
        findings.push(`${service}: may gain privileges`);
      if (!HostConfig.ReadonlyRootfs) findings.push(`${service}: writable root filesystem`);
      if (['', 'root', '0', '0:0'].includes(Config.User)) findings.push(`${service}: runs as root`);
      if (Config.Healthcheck?.Test?.includes('node'))
        findings.push(`${service}: a Node process per healthcheck`);
    }
    expect(findings).toEqual([]);
  });
});

describe("the services' database roles", () => {
  it('each service reaches its own tables with its own password', async () => {
    for (const [role, table] of [
      ['purchase', 'orders'],
      ['inventory', 'stock'],
    ] as const) {
      const result = await system.psqlAs(role, role, `SELECT count(*) >= 0 FROM ${table}`);
      expect(result, role).toEqual({ exitCode: 0, output: 't' });
    }
  });

  it("cannot connect to the other service's database, or to the server's own", async () => {
    for (const [role, other] of [
      ['purchase', 'inventory'],
      ['inventory', 'purchase'],
      ['purchase', 'postgres'],
      ['inventory', 'template1'],
    ] as const) {
      const result = await system.psqlAs(role, other, 'SELECT 1');
      expect(result.exitCode, `${role} → ${other}`).not.toBe(0);
      expect(result.output).toMatch(/permission denied for database/);
    }
  });

  it('cannot create a role or a database', async () => {
    const role = await system.psqlAs('purchase', 'purchase', 'CREATE ROLE intruder LOGIN');
    expect(role.output).toMatch(/permission denied to create role/);
    const database = await system.psqlAs('inventory', 'inventory', 'CREATE DATABASE copy');
    expect(database.output).toMatch(/permission denied to create database/);
  });

  it('connect over TLS only: a client on the network that does not start TLS is refused, and every service connection is TLS', async () => {
    const plaintext = await system.psqlAs('purchase', 'purchase', 'SELECT 1', {
      overNetwork: true,
      sslmode: 'disable',
    });
    expect(plaintext.exitCode).not.toBe(0);
    expect(plaintext.output).toMatch(/no pg_hba\.conf entry .*no encryption/);
    const overTls = await system.psqlAs(
      'purchase',
      'purchase',
      'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
      {
        overNetwork: true,
        sslmode: 'require',
      },
    );
    expect(overTls).toEqual({ exitCode: 0, output: 't' });

    // The services' own pools: each of their sessions is encrypted. A purchase first, so both
    // pools hold a session (an idle one closes after 10 s).
    expect((await api.purchase(order('sku-red-mug', 1), newKey())).status).toBe(201);
    const sessions = await system.psql(
      'postgres',
      `SELECT usename || ':' || ssl FROM pg_stat_activity JOIN pg_stat_ssl USING (pid)
        WHERE usename IN ('purchase', 'inventory') AND client_addr IS NOT NULL
          AND pid <> pg_backend_pid()
        GROUP BY 1 ORDER BY 1`,
    );
    expect(sessions.split('\n')).toEqual(['inventory:true', 'purchase:true']);
  });

  it('is refused without its password, or with another one', async () => {
    for (const password of ['', 'purchase', 'postgres']) {
      const result = await system.psqlAs('purchase', 'purchase', 'SELECT 1', { password });
      expect(result.exitCode, `password "${password}"`).not.toBe(0);
      expect(result.output).toMatch(/password authentication failed|no password supplied/);
    }
  });
});

describe('the socket audit (npm run audit:sockets)', () => {
  it('passes: every listener declared, only the public port published, links TLS or allowed, the socket 0660', async () => {
    const audit = await runSocketAudit(system.project);
    expect(audit.output).toContain('No findings.');
    expect(audit.exitCode, audit.output).toBe(0);
    // Every link between the services proven TLS on the wire: mTLS to inventory by a
    // handshake, Postgres by its SSLRequest and a handshake, NATS by its INFO.
    expect(audit.output).toMatch(/link\s+purchase -> inventory:50051\s+TLS/);
    expect(audit.output).toMatch(/link\s+\S*purchase\S* -> postgres:5432\s+TLS/);
    expect(audit.output).toMatch(/link\s+\S*inventory\S* -> nats:4222\s+TLS/);
    expect(audit.output).toMatch(/socket file\s+inventory \/run\/switchboard\/inventory.sock\s+ok/);
  });

  it("fails on a listener nothing declares, opened by another process in inventory's container", async () => {
    // A real listener on port 7777 beside inventory, gone by itself after 30 s.
    const opened = await system.exec('inventory', [
      'sh',
      '-c',
      `node -e "require('net').createServer().listen(7777); setTimeout(() => process.exit(0), 30000)" >/dev/null 2>&1 &`,
    ]);
    expect(opened.exitCode).toBe(0);
    await expect
      .poll(async () => (await runSocketAudit(system.project)).output, { timeout: 10_000 })
      .toMatch(/listener\s+inventory tcp (0\.0\.0\.0|\[::\]):7777\s+FINDING/);
    const audit = await runSocketAudit(system.project);
    expect(audit.exitCode, audit.output).toBe(1);
  });
});
