/**
 * The broker of deploy/nats as compose runs it (its real nats-server.conf, certificates made
 * by tools/dev-certs): a client that cannot prove who it is is refused, each service may use
 * only its own subjects, a denial shows in the client's logs and metrics, and the real services
 * sell over NATS request-reply with no denial at all (ADR 19).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connect } from '@nats-io/transport-node';
import { connectBus, ensureStreams, type Bus } from '@switchboard/bus';
import {
  createCertificateAuthority,
  ensureDevCertificates,
  issueServiceCertificate,
} from '@switchboard/dev-certs';
import { DEAD_LETTER_STREAM, INVENTORY_STREAM, ORDERS_STREAM } from '@switchboard/events';
import {
  REPO_ROOT,
  createDatabase,
  startNats,
  startPostgres,
  type StartedNats,
  opsUrl,
  startInventoryProcess,
  startPurchaseProcess,
} from '@switchboard/testing';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buy } from './support/purchases.js';

const CONFIG_FILE = join(REPO_ROOT, 'deploy/nats/nats-server.conf');
const ATTEMPTS_PER_CASE = 3;

// What beforeAll starts, stopped in reverse by afterAll.
const shared = new AsyncDisposableStack();
let scratch: string;
let nats: StartedNats;

/** The TLS files tools/dev-certs wrote for one name. */
const filesOf = (name: string) => ({
  caFile: join(scratch, 'certs', name, 'ca.pem'),
  certFile: join(scratch, 'certs', name, 'cert.pem'),
  keyFile: join(scratch, 'certs', name, 'key.pem'),
});

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'ops-nats-permissions-'));
  shared.defer(() => rm(scratch, { recursive: true, force: true }));
  const caDir = join(scratch, 'ca');
  const certsDir = join(scratch, 'certs');
  // As compose's dev-certs makes them; "stranger" is signed by the CA but names no NATS user.
  await ensureDevCertificates({
    caDir,
    certsDir,
    services: ['purchase', 'inventory', 'dead-letters', 'stranger'],
  });
  // The server's certificate also names localhost: the tests reach it through a mapped port.
  await ensureDevCertificates({
    caDir,
    certsDir,
    services: ['nats'],
    extraDnsNames: ['localhost'],
  });
  // A certificate that says "purchase", from a CA the server does not trust.
  const otherCa = await createCertificateAuthority({ commonName: 'Another CA' });
  const forged = await issueServiceCertificate(otherCa, { name: 'purchase' });
  await writeFile(join(scratch, 'forged-cert.pem'), forged.certificate);
  await writeFile(join(scratch, 'forged-key.pem'), forged.privateKey, { mode: 0o600 });

  nats = await startNats({ configFile: CONFIG_FILE, tlsDir: join(certsDir, 'nats') });
  shared.defer(async () => void (await nats.stop()));
});

afterAll(() => shared.disposeAsync());

/** A client connection attempt that gives up at once: 'connected', or the error's message. */
async function tryConnect(tls: Record<string, string> | undefined): Promise<string> {
  try {
    const connection = await connect({
      servers: nats.url,
      ...(tls && { tls }),
      reconnect: false,
      timeout: 5_000,
    });
    await connection.close();
    return 'connected';
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * A plaintext client speaking the protocol by hand, as any process on the network could: it
 * sends CONNECT and PING, and says what the server answered before it closed the socket.
 */
function plaintextAttempt(): Promise<string> {
  const { hostname, port } = new URL(nats.url);
  return new Promise((resolve) => {
    let received = '';
    const socket = tcpConnect({ host: hostname, port: Number(port) });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received.startsWith('INFO ') && !received.includes('PING'))
        socket.write('CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n');
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => resolve(received));
    setTimeout(() => socket.destroy(), 5_000);
  });
}

describe('who may connect', () => {
  it('refuses every client that cannot prove a known identity', async () => {
    const cases: Record<string, () => Promise<string>> = {
      'plaintext, no TLS': async () => {
        const answer = await plaintextAttempt();
        return answer.includes('PONG') ? 'connected' : answer;
      },
      'TLS without a client certificate': () => tryConnect({ caFile: filesOf('purchase').caFile }),
      'a certificate from another CA': () =>
        tryConnect({
          caFile: filesOf('purchase').caFile,
          certFile: join(scratch, 'forged-cert.pem'),
          keyFile: join(scratch, 'forged-key.pem'),
        }),
      'a certificate of the CA naming no user': () => tryConnect(filesOf('stranger')),
    };
    const outcomes: Record<string, string[]> = {};
    for (const [name, attempt] of Object.entries(cases)) {
      outcomes[name] = [];
      for (let i = 0; i < ATTEMPTS_PER_CASE; i++) outcomes[name].push(await attempt());
    }
    const admitted = Object.values(outcomes)
      .flat()
      .filter((outcome) => outcome === 'connected');
    expect(admitted, JSON.stringify(outcomes, null, 2)).toEqual([]);
    // The unknown name gets as far as the server's authorization, which says no.
    expect(outcomes['a certificate of the CA naming no user']?.[0]).toMatch(/authorization/i);
  });

  it('admits each service by its certificate', async () => {
    for (const name of ['purchase', 'inventory', 'dead-letters'])
      expect(await tryConnect(filesOf(name)), name).toBe('connected');
  });

  it('defines users only inside accounts: no top-level authorization block (GHSA-fr2g-9hjm-wr23)', async () => {
    const config = await readFile(CONFIG_FILE, 'utf8');
    const uncommented = config.replace(/#.*$/gm, '');
    // Beside an accounts block, nats-server 2.9.x could let clients in with no credentials.
    expect(uncommented).not.toMatch(/^\s*authorization\s*[:{]/m);
    expect(uncommented).toMatch(/verify_and_map:\s*true/);
    expect(uncommented).not.toMatch(/no_auth_user/);
  });
});

/** A bus of the real lib, whose logs are kept and whose registry is its own. */
async function serviceBus(name: 'purchase' | 'inventory') {
  const lines: string[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    }),
  );
  const registry = new Registry();
  const bus = await connectBus({ servers: nats.url, name, logger, registry, tls: filesOf(name) });
  shared.defer(() => bus.drain());
  const denials = async (operation: string) => {
    const metric = await registry.getSingleMetric('nats_permission_denials_total')?.get();
    return (
      metric?.values.find(
        (value) => value.labels.connection === name && value.labels.operation === operation,
      )?.value ?? 0
    );
  };
  return { bus, lines, denials };
}

/** Resolves once `probe` holds; fails after `timeoutMs`. */
async function eventually(
  probe: () => Promise<boolean> | boolean,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function storedIn(bus: Bus, stream: string): Promise<number> {
  return (await bus.manager.streams.info(stream)).state.messages;
}

describe('who may use which subject', () => {
  it("denies inventory publishing purchase's order events, and purchase inventory's stock events: stored nowhere, logged and counted", async () => {
    const purchase = await serviceBus('purchase');
    const inventory = await serviceBus('inventory');
    await ensureStreams(purchase.bus, [ORDERS_STREAM]);
    await ensureStreams(inventory.bus, [INVENTORY_STREAM]);

    await ensureStreams(inventory.bus, [DEAD_LETTER_STREAM]);

    const attempts = [
      { from: inventory, to: purchase, subject: 'orders.events.confirmed', stream: 'ORDERS' },
      { from: inventory, to: purchase, subject: 'orders.events.cancelled', stream: 'ORDERS' },
      {
        from: purchase,
        to: inventory,
        subject: 'inventory.events.stock.changed.sku-1',
        stream: 'INVENTORY',
      },
      {
        from: purchase,
        to: inventory,
        subject: 'deadletter.ORDERS.inventory-orders',
        stream: 'DEADLETTER',
      },
    ];
    for (const { from, to, subject, stream } of attempts) {
      const before = await storedIn(to.bus, stream);
      const denialsBefore = await from.denials('publish');
      await expect(
        from.bus.jetstream.publish(subject, new Uint8Array([1]), { timeout: 1_000 }),
      ).rejects.toThrow();
      await eventually(async () => (await from.denials('publish')) > denialsBefore);
      expect(from.lines.join('')).toContain(`NATS denied publish on ${subject}`);
      expect(await storedIn(to.bus, stream)).toBe(before);
      // Its owner still publishes there: the denial is about who, not what.
      await to.bus.jetstream.publish(subject, new Uint8Array([2]), { timeout: 5_000 });
      expect(await storedIn(to.bus, stream)).toBe(before + 1);
    }
  });

  it("denies purchase answering as inventory, and inventory reading purchase's replies", async () => {
    const purchase = await serviceBus('purchase');
    const inventory = await serviceBus('inventory');
    const cases = [
      { from: purchase, subject: 'inventory.v1.Reserve' },
      { from: purchase, subject: '$SRV.PING.inventory' },
      { from: inventory, subject: '_INBOX.purchase.>' },
      { from: inventory, subject: 'orders.events.>' },
    ];
    for (const { from, subject } of cases) {
      const before = await from.denials('subscription');
      from.bus.connection.subscribe(subject);
      await eventually(async () => (await from.denials('subscription')) > before);
      expect(from.lines.join('')).toContain(`NATS denied subscription on ${subject}`);
    }
  });
});

describe('the real services over the secured broker', () => {
  it('sell over NATS request-reply, the order event reaching inventory, with 0 denials', async () => {
    const postgres = await startPostgres();
    shared.defer(async () => void (await postgres.stop()));
    const seedFile = join(scratch, 'products.json');
    await writeFile(seedFile, JSON.stringify([{ sku: 'sku-nats', name: 'Nats', onHand: 100 }]));
    const natsEnv = (name: string) => ({
      NATS_URL: nats.url,
      NATS_TLS_CA_FILE: filesOf(name).caFile,
      NATS_TLS_CERT_FILE: filesOf(name).certFile,
      NATS_TLS_KEY_FILE: filesOf(name).keyFile,
    });
    const inventory = shared.use(
      await startInventoryProcess('inventory', {
        ...natsEnv('inventory'),
        DATABASE_URL: await createDatabase(postgres, 'inventory'),
        SEED_FILE: seedFile,
        GRPC_HOST: '127.0.0.1',
        OPS_HOST: '127.0.0.1',
      }),
    );
    const purchase = shared.use(
      await startPurchaseProcess('purchase', {
        ...natsEnv('purchase'),
        DATABASE_URL: await createDatabase(postgres, 'purchase'),
        INVENTORY_TARGET: 'nats:inventory.v1',
        HTTP_HOST: '127.0.0.1',
        OPS_HOST: '127.0.0.1',
      }),
    );
    // Over NATS, purchase's readiness pings inventory's service ($SRV.PING.inventory).
    await eventually(async () => (await fetch(`${opsUrl(purchase)}/readyz`)).ok, 15_000);
    const baseUrl = `http://127.0.0.1:${purchase.ready.httpPort}`;
    const outcomes = [];
    for (let i = 0; i < 5; i++) outcomes.push(await buy(baseUrl, 'sku-nats'));
    expect(outcomes.map((outcome) => outcome.status)).toEqual([201, 201, 201, 201, 201]);

    // inventory's durable consumer pulls and acknowledges purchase's OrderConfirmed events.
    const acked = /jetstream_consumer_handled_total\{[^}]*result="ack"[^}]*\} (\d+)/;
    await eventually(async () => {
      const text = await (await fetch(`${opsUrl(inventory)}/metrics`)).text();
      return Number(acked.exec(text)?.[1] ?? 0) >= 5;
    });
    for (const service of [inventory, purchase]) {
      const text = await (await fetch(`${opsUrl(service)}/metrics`)).text();
      expect(text, service.name).not.toMatch(/^nats_permission_denials_total\{/m);
      expect(service.output(), service.name).not.toContain('NATS denied');
    }
  });
});
