import { ORDERS_STREAM } from '@switchboard/events';
import {
  assertSettingsAgree,
  custom,
  integer,
  loadConfig,
  mustBeAtLeast,
  mustExceed,
  oneOf,
  port,
  string,
  tlsFileFields,
  tlsFilesFrom,
  url,
  type Env,
} from '@switchboard/config';
import { LOG_LEVELS } from '@switchboard/observability';
import { OUTBOX_PUBLISH_TIMEOUT_MS } from '@switchboard/outbox';
import { socketPathProblem } from '@switchboard/uds';
import { parseTargets } from '@switchboard/datagrams';

/** Every environment variable the service reads; main.ts is the only caller with process.env. */
const spec = {
  databaseUrl: url('DATABASE_URL', {
    protocols: ['postgres', 'postgresql'],
    description: 'Postgres connection URL of the inventory database.',
  }),
  grpcHost: string('GRPC_HOST', {
    default: '0.0.0.0',
    description: 'Address the gRPC server binds.',
  }),
  grpcPort: port('GRPC_PORT', { default: 50051, description: 'gRPC port; 0 picks a free one.' }),
  grpcSocketPath: custom(
    'GRPC_SOCKET_PATH',
    {
      default: '',
      description:
        'Unix-domain socket the gRPC server also binds (absolute, at most 107 bytes); empty binds none.',
    },
    (raw) => {
      if (raw === '') return raw;
      const problem = socketPathProblem(raw);
      return problem ? { problem } : raw;
    },
  ),
  // mTLS on the TCP port when all three are set (compose sets them); the socket stays
  // plaintext, protected by its file mode (ADR 15).
  ...tlsFileFields('GRPC_TLS'),
  // TLS to NATS with this certificate as the identity: the server maps its name to the NATS
  // user and its permissions (deploy/nats, ADR 19). Compose points them at the gRPC files.
  ...tlsFileFields('NATS_TLS', 'natsTls'),
  opsHost: string('OPS_HOST', {
    default: '0.0.0.0',
    description: 'Address of /livez, /readyz, /metrics.',
  }),
  opsPort: port('OPS_PORT', { default: 9464, description: 'Ops port; 0 picks a free one.' }),
  logLevel: oneOf('LOG_LEVEL', LOG_LEVELS, { default: 'info' }),
  seedFile: string('SEED_FILE', {
    default: '',
    description: 'JSON file of products seeded at start; empty seeds nothing.',
  }),
  shutdownTimeoutMs: integer('SHUTDOWN_TIMEOUT_MS', {
    default: 10_000,
    min: 1,
    description: 'Deadline for the whole graceful stop.',
  }),
  shutdownDelayMs: integer('SHUTDOWN_DELAY_MS', {
    default: 1_000,
    min: 0,
    description:
      'Pause between /readyz turning 503 and the gRPC drain, so balancers move away first.',
  }),
  natsUrl: url('NATS_URL', {
    default: 'nats://nats:4222',
    protocols: ['nats', 'tls'],
    description: 'NATS with JetStream: OrderConfirmed in, StockChanged out.',
  }),
  natsStreamReplicas: integer('NATS_STREAM_REPLICAS', {
    default: 1,
    min: 1,
    max: 5,
    description:
      'Servers of the JetStream cluster that keep a copy of each stream this service owns (3 on the cluster topology).',
  }),
  consumerMaxDeliveries: integer('CONSUMER_MAX_DELIVERIES', {
    default: 5,
    min: 1,
    max: 100,
    description: 'Deliveries of an event whose handling keeps failing before it is dead-lettered.',
  }),
  consumerRetryDelayMs: integer('CONSUMER_RETRY_DELAY_MS', {
    default: 1_000,
    min: 1,
    max: 60_000,
    description: 'Delay before a failed event comes again; it doubles each time, up to 30 s.',
  }),
  reservationSweepIntervalMs: integer('RESERVATION_SWEEP_INTERVAL_MS', {
    default: 5_000,
    min: 10,
    max: 600_000,
    description: 'How often reservations past their TTL are looked for and released.',
  }),
  outboxPollIntervalMs: integer('OUTBOX_POLL_INTERVAL_MS', {
    default: 500,
    min: 10,
    max: 60_000,
    description: 'How often an idle outbox relay looks for events to publish.',
  }),
  outboxRetentionHours: integer('OUTBOX_RETENTION_HOURS', {
    default: 72,
    min: 1,
    max: 87_600,
    description: 'How long published StockChanged events stay in the outbox, for operators.',
  }),
  inboxRetentionHours: integer('INBOX_RETENTION_HOURS', {
    default: 192,
    min: 1,
    max: 87_600,
    description:
      'How long the inbox remembers an applied OrderConfirmed; at least the ORDERS max_age.',
  }),
  retentionIntervalMs: integer('RETENTION_INTERVAL_MS', {
    default: 300_000,
    min: 10,
    max: 86_400_000,
    description: 'How often expired outbox and inbox rows are looked for and deleted.',
  }),
  // The password as a mounted secret file, not in the URL or the environment; read for each
  // new connection, so a rotated password needs no restart.
  databasePasswordFile: string('DATABASE_PASSWORD_FILE', {
    default: '',
    description: 'File holding the database password (a mounted secret); the URL then has none.',
  }),
  dbPoolMax: integer('DB_POOL_MAX', {
    default: 10,
    min: 1,
    max: 1000,
    description:
      'Postgres pool size; also how many API calls run at once (one slot per connection, ADR 11).',
  }),
  dbConnectionTimeoutMs: integer('DB_CONNECTION_TIMEOUT_MS', {
    default: 2_000,
    min: 100,
    max: 60_000,
    description:
      'The longest a call waits for a database connection (the pool, or a stalled server).',
  }),
  dbStatementTimeoutMs: integer('DB_STATEMENT_TIMEOUT_MS', {
    default: 5_000,
    min: 100,
    max: 600_000,
    description:
      "Postgres cancels a statement (row-lock waits included) that runs longer; about purchase's request deadline.",
  }),
  dbIdleInTransactionTimeoutMs: integer('DB_IDLE_IN_TRANSACTION_TIMEOUT_MS', {
    default: 60_000,
    min: 1_000,
    max: 3_600_000,
    description:
      'Postgres ends a session idle inside a transaction for longer, releasing its locks.',
  }),
  // Group commit of Reserves and of the consumer's commits (ADR 28).
  batchMax: integer('BATCH_MAX', {
    default: 64,
    min: 1,
    max: 1000,
    description:
      'The most Reserves (or the most commits of confirmed orders) that share one transaction and its commit; 1 gives each its own.',
  }),
  batchesInFlight: integer('BATCHES_IN_FLIGHT', {
    default: 2,
    min: 1,
    max: 100,
    description:
      'Batches of one use case in their transactions at once; the calls that come meanwhile wait and go together in the next.',
  }),
  // Stock ticks over UDP (ADR 26): off unless subscribers are named.
  stockTicksTargets: custom(
    'STOCK_TICKS_TARGETS',
    {
      default: [],
      description:
        'Subscribers of the stock ticks over UDP, host:port,host:port (purchase:7070); empty sends none.',
    },
    parseTargets,
  ),
  stockTicksHeartbeatMs: integer('STOCK_TICKS_HEARTBEAT_MS', {
    default: 1_000,
    min: 10,
    max: 60_000,
    description:
      'With no tick for this long, a heartbeat datagram carries the last seq, so a lost last tick is seen.',
  }),
  admissionQueueSize: integer('ADMISSION_QUEUE_SIZE', {
    default: 100,
    min: 0,
    max: 100_000,
    description:
      'API calls that may wait for a free connection; beyond them, calls are refused at once (RESOURCE_EXHAUSTED).',
  }),
  admissionQueueTimeoutMs: integer('ADMISSION_QUEUE_TIMEOUT_MS', {
    default: 1_000,
    min: 0,
    max: 60_000,
    description:
      "The longest an API call waits for a free connection (its caller's deadline may cut it shorter).",
  }),
};

export type InventoryConfig = ReturnType<typeof readConfig>;

/** Reads and validates the configuration; throws one ConfigError naming every bad variable. */
export function readConfig(env: Env) {
  const config = loadConfig(env, spec);
  const grpcTls = tlsFilesFrom(config, 'GRPC_TLS');
  const natsTls = tlsFilesFrom(config, 'NATS_TLS', 'natsTls');
  assertSettingsAgree([
    grpcTls.problem,
    natsTls.problem,
    // The pause is spent inside the stop deadline; a pause as long as the deadline leaves no
    // time to drain the calls in flight.
    config.shutdownDelayMs >= config.shutdownTimeoutMs
      ? `SHUTDOWN_DELAY_MS (${config.shutdownDelayMs}) must be less than SHUTDOWN_TIMEOUT_MS (${config.shutdownTimeoutMs})`
      : undefined,
    inboxRetentionProblem(config.inboxRetentionHours),
    mustExceed(
      { name: 'DB_IDLE_IN_TRANSACTION_TIMEOUT_MS', ms: config.dbIdleInTransactionTimeoutMs },
      { name: "the outbox relay's publish timeout", ms: OUTBOX_PUBLISH_TIMEOUT_MS },
      "the relay's transaction waits for JetStream's ack between two statements",
    ),
  ]);
  return { ...config, grpcTls: grpcTls.files, natsTls: natsTls.files };
}

const HOUR_MS = 60 * 60 * 1000;

/**
 * JetStream can deliver an OrderConfirmed again for as long as ORDERS keeps it (a redelivery,
 * a consumer reset to the start, an operator's replay); the inbox must still know its id by
 * then, or the reservation is committed twice.
 */
function inboxRetentionProblem(inboxRetentionHours: number): string | undefined {
  const maxAgeMs = ORDERS_STREAM.max_age / 1_000_000; // nanoseconds in the stream config
  return mustBeAtLeast(
    { name: 'INBOX_RETENTION_HOURS', ms: inboxRetentionHours * HOUR_MS },
    { name: `the max_age of the ${ORDERS_STREAM.name} stream inventory consumes`, ms: maxAgeMs },
    `a message id forgotten while the stream can still deliver the message again lets that delivery apply it twice; set INBOX_RETENTION_HOURS to ${Math.ceil(maxAgeMs / HOUR_MS)} or more`,
  );
}
