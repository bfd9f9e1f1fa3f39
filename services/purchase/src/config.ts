import {
  assertSettingsAgree,
  custom,
  integer,
  loadConfig,
  oneOf,
  port,
  string,
  tlsFileFields,
  tlsFilesFrom,
  url,
  type Env,
  mustBeAtLeast,
  mustExceed,
} from '@switchboard/config';
import { limitRangeProblem } from '@switchboard/admission';
import { SERVER_KEEPALIVE_POLICY, keepaliveProblems } from '@switchboard/grpc';
import { parseInventoryTarget } from '@switchboard/inventory-client';
import { LOG_LEVELS } from '@switchboard/observability';
import { OUTBOX_PUBLISH_TIMEOUT_MS } from '@switchboard/outbox';

/** Every variable purchase reads; README.md has the same table for operators. */
export const configSpec = {
  databaseUrl: url('DATABASE_URL', { protocols: ['postgres', 'postgresql'] }),
  // The password as a mounted secret file, not in the URL or the environment; read for each
  // new connection, so a rotated password needs no restart.
  databasePasswordFile: string('DATABASE_PASSWORD_FILE', { default: '' }),
  dbPoolMax: integer('DB_POOL_MAX', { default: 10, min: 1, max: 100 }),
  // Group commit of order saves (ADR 28): the most orders in one transaction, and how many
  // such transactions run at once; the saves that come meanwhile go together in the next.
  batchMax: integer('BATCH_MAX', { default: 64, min: 1, max: 1000 }),
  batchesInFlight: integer('BATCHES_IN_FLIGHT', { default: 2, min: 1, max: 100 }),
  // Without them a call waits forever for a stalled database. The defaults are the default
  // REQUEST_TIMEOUT_MS: no database wait outlasts a whole request. Not checked against it: a
  // shorter request deadline already answers the caller (504) while the wait ends on its own.
  dbConnectionTimeoutMs: integer('DB_CONNECTION_TIMEOUT_MS', {
    default: 5_000,
    min: 100,
    max: 60_000,
  }),
  dbStatementTimeoutMs: integer('DB_STATEMENT_TIMEOUT_MS', {
    default: 5_000,
    min: 100,
    max: 600_000,
  }),
  dbIdleInTransactionTimeoutMs: integer('DB_IDLE_IN_TRANSACTION_TIMEOUT_MS', {
    default: 60_000,
    min: 1_000,
    max: 3_600_000,
  }),
  httpHost: string('HTTP_HOST', { default: '0.0.0.0' }),
  httpPort: port('HTTP_PORT', { default: 8080 }),
  opsHost: string('OPS_HOST', { default: '0.0.0.0' }),
  opsPort: port('OPS_PORT', { default: 9464 }),
  // Checked here, so a bad target stops the start instead of failing the first purchase. The
  // one switch between transports: gRPC over TCP (dns:///inventory:50051, or ipv4:a:port,b:port),
  // gRPC over a Unix-domain socket (unix:///run/switchboard/inventory.sock), NATS request-reply
  // (nats:inventory.v1).
  inventoryTarget: custom('INVENTORY_TARGET', { default: 'dns:///inventory:50051' }, (raw) => {
    const parsed = parseInventoryTarget(raw);
    return 'problem' in parsed ? parsed : raw;
  }),
  // mTLS to inventory over gRPC/TCP when all three are set (compose sets them); a socket
  // target stays plaintext, protected by its file mode (ADR 15).
  ...tlsFileFields('GRPC_TLS'),
  // TLS to NATS with this certificate as the identity: the server maps its name to the NATS
  // user and its permissions (deploy/nats, ADR 19). Compose points them at the gRPC files.
  ...tlsFileFields('NATS_TLS', 'natsTls'),
  inventoryTlsServerName: string('INVENTORY_TLS_SERVER_NAME', {
    default: 'inventory',
    description: "The DNS name inventory's certificate must hold (mTLS over TCP only).",
  }),
  inventoryKeepaliveTimeMs: integer('INVENTORY_KEEPALIVE_TIME_MS', { default: 30_000, min: 1_000 }),
  inventoryBreakerResetMs: integer('INVENTORY_BREAKER_RESET_MS', {
    default: 2_000,
    min: 100,
    max: 60_000,
  }),
  httpKeepAliveTimeoutMs: integer('HTTP_KEEP_ALIVE_TIMEOUT_MS', { default: 65_000, min: 1_000 }),
  // The edge's limits against slow and greedy clients (ADR 18). A client gets this long to send
  // its request line and headers, and this long for its whole request with its body.
  httpHeadersTimeoutMs: integer('HTTP_HEADERS_TIMEOUT_MS', {
    default: 10_000,
    min: 100,
    max: 300_000,
  }),
  httpRequestTimeoutMs: integer('HTTP_REQUEST_TIMEOUT_MS', {
    default: 10_000,
    min: 100,
    max: 300_000,
  }),
  // Node checks the two timeouts above only this often (30 s by its default): a slow socket is
  // closed between its timeout and its timeout plus this.
  httpConnectionsCheckIntervalMs: integer('HTTP_CONNECTIONS_CHECK_INTERVAL_MS', {
    default: 1_000,
    min: 100,
    max: 60_000,
  }),
  // Request line plus headers; Node's own default (16 KiB). Larger gets 431.
  httpMaxHeaderSizeBytes: integer('HTTP_MAX_HEADER_SIZE_BYTES', {
    default: 16_384,
    min: 1_024,
    max: 1_048_576,
  }),
  // Open client connections at once; the next are closed as soon as they are accepted.
  httpMaxConnections: integer('HTTP_MAX_CONNECTIONS', { default: 20_000, min: 1, max: 1_000_000 }),
  // Requests per client IP per window (@fastify/rate-limit); 0 turns the limit off, for a
  // deployment where every request arrives from the balancer's address.
  httpRateLimitMax: integer('HTTP_RATE_LIMIT_MAX', { default: 1_200, min: 0, max: 100_000_000 }),
  httpRateLimitWindowMs: integer('HTTP_RATE_LIMIT_WINDOW_MS', {
    default: 60_000,
    min: 1_000,
    max: 3_600_000,
  }),
  loadBalancerIdleTimeoutMs: integer('LOAD_BALANCER_IDLE_TIMEOUT_MS', {
    default: 60_000,
    min: 0,
  }),
  natsUrl: url('NATS_URL', { default: 'nats://nats:4222', protocols: ['nats', 'tls'] }),
  natsStreamReplicas: integer('NATS_STREAM_REPLICAS', {
    default: 1,
    min: 1,
    max: 5,
    description:
      'Servers of the JetStream cluster that keep a copy of each stream this service owns (3 on the cluster topology).',
  }),
  outboxPollIntervalMs: integer('OUTBOX_POLL_INTERVAL_MS', { default: 500, min: 10, max: 60_000 }),
  // Published events are kept for operators only: the stream has them for its own max_age.
  outboxRetentionHours: integer('OUTBOX_RETENTION_HOURS', { default: 72, min: 1, max: 87_600 }),
  retentionIntervalMs: integer('RETENTION_INTERVAL_MS', {
    default: 300_000,
    min: 10,
    max: 86_400_000,
  }),
  requestTimeoutMs: integer('REQUEST_TIMEOUT_MS', { default: 5_000, min: 100, max: 60_000 }),
  // Admission control of the API routes (ADR 11): how many requests run at once (adapted to
  // their latency between the bounds), and how many may wait, how long, for a slot. Sized for
  // the pool and the database behind them (README.md says why these defaults).
  admissionInitialLimit: integer('ADMISSION_INITIAL_LIMIT', { default: 24, min: 1, max: 10_000 }),
  admissionMinLimit: integer('ADMISSION_MIN_LIMIT', { default: 12, min: 1, max: 10_000 }),
  admissionMaxLimit: integer('ADMISSION_MAX_LIMIT', { default: 48, min: 1, max: 10_000 }),
  admissionQueueSize: integer('ADMISSION_QUEUE_SIZE', { default: 16, min: 0, max: 100_000 }),
  admissionQueueTimeoutMs: integer('ADMISSION_QUEUE_TIMEOUT_MS', {
    default: 5,
    min: 0,
    max: 60_000,
  }),
  // Refused clients are told to wait longer as more of them wait, so that they come back at
  // about this rate at most (retry-after.ts in @switchboard/admission); never longer than the
  // max, which must stay under what clients wait for an answer (30 s for most).
  admissionReturnsPerSecond: integer('ADMISSION_RETURNS_PER_SECOND', {
    default: 200,
    min: 1,
    max: 1_000_000,
  }),
  admissionRetryAfterMaxSeconds: integer('ADMISSION_RETRY_AFTER_MAX_SECONDS', {
    default: 20,
    min: 1,
    max: 3600,
  }),
  // A request back on a refused connection before its Retry-After: held until then, or, behind
  // a proxy that carries many clients on one connection, served at once (early-retries.ts).
  admissionEarlyRetries: oneOf('ADMISSION_EARLY_RETRIES', ['hold', 'serve'], { default: 'hold' }),
  // The kernel caps it at net.core.somaxconn (4096 by default since Linux 5.4).
  httpListenBacklog: integer('HTTP_LISTEN_BACKLOG', { default: 4096, min: 1, max: 65_535 }),
  reservationTtlSeconds: integer('RESERVATION_TTL_SECONDS', { default: 900, min: 1, max: 3600 }),
  // The live feed, GET /v1/live (ADR 21): clients at once, bytes queued for one client before
  // it is closed as too slow (4008), the ping interval (no pong by the next ping: closed), the
  // changes kept for a client that reconnects, and the origins besides purchase's own whose
  // pages may connect (comma-separated, e.g. https://shop.example).
  liveMaxClients: integer('LIVE_MAX_CLIENTS', { default: 5_000, min: 1, max: 1_000_000 }),
  liveMaxBufferedBytes: integer('LIVE_MAX_BUFFERED_BYTES', {
    default: 1_048_576,
    min: 1_024,
    max: 1_073_741_824,
  }),
  liveHeartbeatIntervalMs: integer('LIVE_HEARTBEAT_INTERVAL_MS', {
    default: 15_000,
    min: 100,
    max: 600_000,
  }),
  liveHistorySize: integer('LIVE_HISTORY_SIZE', { default: 1_000, min: 1, max: 1_000_000 }),
  liveAllowedOrigins: custom<string[]>('LIVE_ALLOWED_ORIGINS', { default: [] }, parseOrigins),
  // How often the page's socket and rate panels are refreshed, and where inventory's ops port
  // (its GET /sockets) is: on the compose network, not published on the host.
  livePanelsIntervalMs: integer('LIVE_PANELS_INTERVAL_MS', {
    default: 2_000,
    min: 100,
    max: 600_000,
  }),
  inventoryOpsUrl: url('INVENTORY_OPS_URL', {
    default: 'http://inventory:9464',
    protocols: ['http', 'https'],
  }),
  // Stock ticks over UDP (ADR 26): 0 keeps them off and the live feed takes the stock from
  // NATS; a port makes the feed take it from inventory's datagrams (STOCK_TICKS_TARGETS there),
  // repaired from ListStock after each gap.
  stockTicksHost: string('STOCK_TICKS_HOST', { default: '0.0.0.0' }),
  stockTicksPort: integer('STOCK_TICKS_PORT', { default: 0, min: 0, max: 65_535 }),
  logLevel: oneOf('LOG_LEVEL', LOG_LEVELS, { default: 'info' }),
  shutdownTimeoutMs: integer('SHUTDOWN_TIMEOUT_MS', { default: 10_000, min: 0 }),
  shutdownDelayMs: integer('SHUTDOWN_DELAY_MS', { default: 2_000, min: 0 }),
};

/** `https://a.example,http://localhost:8080`: each an origin (scheme, host, port; no path). */
function parseOrigins(raw: string): string[] | { problem: string } {
  const origins = raw
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (parsed?.origin !== origin) {
      return { problem: `${JSON.stringify(origin)} is not an origin like https://host:port` };
    }
  }
  return origins;
}

export type PurchaseConfig = ReturnType<typeof readConfig>;

export function readConfig(env: Env) {
  const config = loadConfig(env, configSpec);
  const grpcTls = tlsFilesFrom(config, 'GRPC_TLS');
  const natsTls = tlsFilesFrom(config, 'NATS_TLS', 'natsTls');
  // Each value above is fine alone; these pairs must also agree with each other.
  assertSettingsAgree([
    grpcTls.problem,
    natsTls.problem,
    limitRangeProblem({
      minLimit: config.admissionMinLimit,
      initialLimit: config.admissionInitialLimit,
      maxLimit: config.admissionMaxLimit,
    }),
    mustExceed(
      { name: 'REQUEST_TIMEOUT_MS', ms: config.requestTimeoutMs },
      { name: 'ADMISSION_QUEUE_TIMEOUT_MS', ms: config.admissionQueueTimeoutMs },
      'a request that waits for a slot must still have time to run',
    ),
    ...keepaliveProblems(
      { 'grpc.keepalive_time_ms': config.inventoryKeepaliveTimeMs },
      SERVER_KEEPALIVE_POLICY,
      { clientTimeSetting: 'INVENTORY_KEEPALIVE_TIME_MS' },
    ),
    mustExceed(
      { name: 'HTTP_KEEP_ALIVE_TIMEOUT_MS', ms: config.httpKeepAliveTimeoutMs },
      { name: 'LOAD_BALANCER_IDLE_TIMEOUT_MS', ms: config.loadBalancerIdleTimeoutMs },
      'the load balancer must close an idle connection first, or it may send a request down a socket purchase is closing (a 502)',
    ),
    mustBeAtLeast(
      { name: 'HTTP_REQUEST_TIMEOUT_MS', ms: config.httpRequestTimeoutMs },
      { name: 'HTTP_HEADERS_TIMEOUT_MS', ms: config.httpHeadersTimeoutMs },
      'the headers are part of the request (Node refuses to start otherwise)',
    ),
    mustExceed(
      { name: 'HTTP_HEADERS_TIMEOUT_MS', ms: config.httpHeadersTimeoutMs },
      { name: 'HTTP_CONNECTIONS_CHECK_INTERVAL_MS', ms: config.httpConnectionsCheckIntervalMs },
      'a slow socket is closed up to one check interval after its timeout',
    ),
    mustExceed(
      { name: 'DB_IDLE_IN_TRANSACTION_TIMEOUT_MS', ms: config.dbIdleInTransactionTimeoutMs },
      { name: "the outbox relay's publish timeout", ms: OUTBOX_PUBLISH_TIMEOUT_MS },
      "the relay's transaction waits for JetStream's ack between two statements",
    ),
    mustExceed(
      { name: 'SHUTDOWN_TIMEOUT_MS', ms: config.shutdownTimeoutMs },
      {
        name: 'SHUTDOWN_DELAY_MS + REQUEST_TIMEOUT_MS',
        ms: config.shutdownDelayMs + config.requestTimeoutMs,
      },
      'after the readiness delay, a request that just arrived needs its whole deadline to finish',
    ),
  ]);
  return { ...config, grpcTls: grpcTls.files, natsTls: natsTls.files };
}
