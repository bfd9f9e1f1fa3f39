/**
 * /metrics of the built services, as Prometheus scrapes them: clean under `promtool check
 * metrics`, with the families the dashboards and alerts are built on, and nothing in
 * deploy/ that names a metric no service serves.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevCertificates } from '@switchboard/dev-certs';
import {
  REPO_ROOT,
  opsUrl,
  startInventoryProcess,
  startPurchaseProcess,
  type PurchaseProcess,
  type InventoryProcess,
} from '@switchboard/testing';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfrastructure } from './support/infrastructure.js';
import { exposedMetricNames, metricNamesIn } from './support/promql.js';
import { promtool } from './support/promtool.js';
import { buy } from './support/purchases.js';

// What beforeAll starts, stopped in reverse by afterAll.
const shared = new AsyncDisposableStack();
const scraped: Record<string, string> = {};
const certs = mkdtempSync(join(tmpdir(), 'ops-metrics-certs-'));
/** GRPC_TLS_* for one service, from certificates made as compose's dev-certs makes them. */
const tlsEnv = (service: string) => ({
  GRPC_TLS_CA_FILE: join(certs, service, 'ca.pem'),
  GRPC_TLS_CERT_FILE: join(certs, service, 'cert.pem'),
  GRPC_TLS_KEY_FILE: join(certs, service, 'key.pem'),
});

beforeAll(async () => {
  const infrastructure = shared.use(
    await startInfrastructure([
      { sku: 'sku-plenty', name: 'Plenty', onHand: 1_000 },
      { sku: 'sku-none', name: 'None', onHand: 0 },
    ]),
  );
  // gRPC over mTLS, as in compose: the certificate-expiry metric is served only then.
  await ensureDevCertificates({
    caDir: join(certs, 'ca'),
    certsDir: certs,
    services: ['inventory', 'purchase'],
  });
  shared.defer(() => rmSync(certs, { recursive: true, force: true }));
  const inventory = shared.use(
    await startInventoryProcess('inventory', {
      ...tlsEnv('inventory'),
      DATABASE_URL: infrastructure.inventoryDatabaseUrl,
      NATS_URL: infrastructure.nats.url,
      SEED_FILE: infrastructure.seedFile,
      GRPC_HOST: '127.0.0.1',
      OPS_HOST: '127.0.0.1',
    }),
  );
  const purchase = shared.use(
    await startPurchaseProcess('purchase', {
      ...tlsEnv('purchase'),
      DATABASE_URL: infrastructure.purchaseDatabaseUrl,
      NATS_URL: infrastructure.nats.url,
      INVENTORY_TARGET: `dns:///127.0.0.1:${inventory.ready.grpcPort}`,
      HTTP_HOST: '127.0.0.1',
      OPS_HOST: '127.0.0.1',
    }),
  );
  // Some traffic of each kind, so the labelled series have samples: sales, a refusal, reads.
  const baseUrl = `http://127.0.0.1:${purchase.ready.httpPort}`;
  for (let i = 0; i < 5; i++) await buy(baseUrl, 'sku-plenty');
  await buy(baseUrl, 'sku-none');
  await fetch(`${baseUrl}/v1/stock/sku-plenty`);
  const scrape = async (service: InventoryProcess | PurchaseProcess) =>
    (scraped[service.name] = await (await fetch(`${opsUrl(service)}/metrics`)).text());
  // Let the relays publish the order and stock events and the consumer take them.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  await Promise.all([scrape(inventory), scrape(purchase)]);
});

afterAll(() => shared.disposeAsync());

/** Admission control's metrics (libs/admission), which both services serve. */
const ADMISSION_FAMILIES = [
  'admission_requests_admitted_total',
  'admission_requests_shed_total',
  'admission_limit',
  'admission_in_flight',
  'admission_queue_length',
  'admission_queue_wait_seconds',
];

describe('/metrics of each service', () => {
  it.each(['purchase', 'inventory'])('%s passes promtool check metrics', (name) => {
    const result = promtool(['check', 'metrics'], { input: scraped[name] });
    // promtool prints nothing and exits 0 when every metric follows the conventions.
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  it('purchase serves its HTTP, gRPC client, breaker, channel, NATS, outbox and admission metrics', () => {
    const names = exposedMetricNames(scraped.purchase!);
    for (const family of [
      'http_server_request_duration_seconds',
      'grpc_client_handled_total',
      'grpc_client_handling_seconds',
      'grpc_client_channel_state',
      'grpc_client_channel_state_changes_total',
      'circuit_breaker_state',
      'circuit_breaker_transitions_total',
      'circuit_breaker_rejected_calls_total',
      'nats_connection_up',
      'nats_connection_events_total',
      'nats_permission_denials_total',
      'outbox_pending_events',
      'purchase_reservation_releases_total',
      'tls_certificate_expiry_seconds',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_seconds',
      ...ADMISSION_FAMILIES,
    ])
      expect(names, family).toContain(family);
    expect(scraped.purchase).toMatch(/admission_limit\{limiter="purchase-api"[^}]*\} 24/);
    expect(scraped.purchase).toMatch(
      /circuit_breaker_state\{breaker="inventory",state="closed"[^}]*\} 1/,
    );
    expect(scraped.purchase).toMatch(
      /grpc_client_channel_state\{grpc_peer="inventory",state="READY"[^}]*\} 1/,
    );
  });

  it('inventory serves its gRPC server, NATS, consumer, outbox and admission metrics', () => {
    const names = exposedMetricNames(scraped.inventory!);
    for (const family of [
      'grpc_server_handled_total',
      'grpc_server_handling_seconds',
      'nats_connection_up',
      'nats_permission_denials_total',
      'jetstream_consumer_deliveries_total',
      'outbox_pending_events',
      'process_resident_memory_bytes',
      'tls_certificate_expiry_seconds',
      ...ADMISSION_FAMILIES,
    ])
      expect(names, family).toContain(family);
    // One slot per pool connection (DB_POOL_MAX, 10 by default).
    expect(scraped.inventory).toMatch(/admission_limit\{limiter="inventory-api"[^}]*\} 10/);
  });
});

describe('deploy/', () => {
  it('names in its dashboards and alert rules only metrics that a service serves', () => {
    const served = new Set([
      ...exposedMetricNames(scraped.purchase!),
      ...exposedMetricNames(scraped.inventory!),
      // Made by Prometheus itself for every target.
      'up',
    ]);
    const queries: { where: string; expr: string }[] = [];
    const dashboards = join(REPO_ROOT, 'deploy/grafana/dashboards');
    for (const file of readdirSync(dashboards)) {
      const dashboard = JSON.parse(readFileSync(join(dashboards, file), 'utf8')) as {
        panels: { title: string; targets?: { expr: string }[] }[];
      };
      for (const panel of dashboard.panels)
        for (const target of panel.targets ?? [])
          queries.push({ where: `${file}: ${panel.title}`, expr: target.expr });
    }
    const rules = parse(
      readFileSync(join(REPO_ROOT, 'deploy/prometheus/rules/switchboard.yml'), 'utf8'),
    ) as { groups: { rules: { alert: string; expr: string }[] }[] };
    for (const rule of rules.groups.flatMap((group) => group.rules))
      queries.push({ where: `alert ${rule.alert}`, expr: rule.expr });

    const unknown = queries.flatMap(({ where, expr }) =>
      metricNamesIn(expr)
        .filter((name) => !served.has(name))
        .map((name) => `${where}: ${name}`),
    );
    expect(queries.length).toBeGreaterThan(30);
    expect(unknown).toEqual([]);
  });
});
