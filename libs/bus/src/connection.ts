import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { connect, errors, type NatsConnection, type Status } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { connectionMetrics, permissionMetrics } from './metrics.js';

/** A named NATS connection with JetStream, shared by everything a process does on the bus. */
export interface Bus extends AsyncDisposable {
  /** The connection name, shown by the server's monitoring and used as metric label. */
  readonly name: string;
  readonly connection: NatsConnection;
  readonly jetstream: JetStreamClient;
  readonly manager: JetStreamManager;
  readonly logger: Logger;
  readonly registry: Registry;
  /** False while the connection is down and reconnecting. */
  isConnected(): boolean;
  /** Lets subscriptions finish what they hold, flushes what was published, then closes. */
  drain(): Promise<void>;
}

export interface BusOptions {
  /** `nats://host:4222`, or several for a cluster. */
  servers: string | string[];
  /** Names the connection on the server (`connz`), in logs and in metrics. */
  name: string;
  logger: Logger;
  registry: Registry;
  /** Pause between reconnect attempts; default 1000 ms. */
  reconnectWaitMs?: number;
  /** Up to this much is added at random to each pause; default 1000 ms. */
  reconnectJitterMs?: number;
  /**
   * TLS with a client certificate: the server verifies it against its CA and maps its name to
   * a NATS user (deploy/nats, ADR 19). Without it the connection is plaintext.
   */
  tls?: BusTlsFiles;
}

/** PEM files of the CA that signed the server's certificate, and of this client's identity. */
export interface BusTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/**
 * Replies to this connection's requests come on `_INBOX.<name>.>`: the server can then let each
 * user subscribe to its own replies only, so no one reads another's (ADR 19).
 */
export function inboxPrefixOf(name: string): string {
  return `_INBOX.${name}`;
}

/**
 * Connects and keeps connecting: a NATS that is not up yet is waited for, and one that goes
 * away is reconnected to forever, so a broker restart never leaves a service without its bus.
 * Every status change is logged and counted.
 */
export async function connectBus(options: BusOptions): Promise<Bus> {
  const { name, registry } = options;
  const logger = options.logger.child({ component: 'nats', connection: name });
  const metrics = connectionMetrics(registry);
  const denials = permissionMetrics(registry);
  logger.info({ servers: options.servers, tls: options.tls !== undefined }, 'connecting to NATS');

  const connection = await connect({
    servers: options.servers,
    name,
    inboxPrefix: inboxPrefixOf(name),
    // nats.js reads the files itself; TLS is then required, whatever the URL's scheme says.
    ...(options.tls && { tls: { ...options.tls } }),
    maxReconnectAttempts: -1,
    // Without it the first connect gives up at once; with it, a NATS that starts after the
    // service is waited for like one that restarts later.
    waitOnFirstConnect: true,
    reconnectTimeWait: options.reconnectWaitMs ?? 1_000,
    // The jitter spreads the reconnects of many clients, so a restarted server is not hit by
    // all of them in the same instant.
    reconnectJitter: options.reconnectJitterMs ?? 1_000,
    // nats.js otherwise builds two errors with stack traces on every request, for a nicer
    // trace should it fail: a fifth of a request's client CPU (ADR 24). The error types stay
    // the same, so failures are told apart as before.
    noAsyncTraces: true,
  });
  let connected = true;
  metrics.up.set({ connection: name }, 1);
  logger.info({ server: connection.getServer() }, 'connected to NATS');

  const watching = (async () => {
    for await (const status of connection.status()) {
      metrics.events.inc({ connection: name, event: status.type });
      if (status.type === 'disconnect') connected = false;
      if (status.type === 'reconnect') connected = true;
      metrics.up.set({ connection: name }, connected ? 1 : 0);
      // The server refuses what this user may not do (ADR 19) and says so asynchronously.
      if (status.type === 'error' && status.error instanceof errors.PermissionViolationError) {
        const { operation, subject } = status.error;
        denials.inc({ connection: name, operation });
        logger.error({ operation, subject }, `NATS denied ${operation} on ${subject}`);
        continue;
      }
      logStatus(logger, status);
    }
  })();

  const client = jetstream(connection);
  const manager = await jetstreamManager(connection);

  async function drain(): Promise<void> {
    if (!connection.isClosed()) await connection.drain();
    await watching;
    metrics.up.set({ connection: name }, 0);
    logger.info('NATS connection drained and closed');
  }

  return {
    name,
    connection,
    jetstream: client,
    manager,
    logger,
    registry,
    isConnected: () => connected && !connection.isClosed(),
    drain,
    [Symbol.asyncDispose]: drain,
  };
}

function logStatus(logger: Logger, status: Status): void {
  switch (status.type) {
    case 'disconnect':
      logger.warn({ server: status.server }, 'NATS disconnected; reconnecting');
      return;
    case 'reconnect':
      logger.info({ server: status.server }, 'NATS reconnected');
      return;
    case 'error':
      logger.error({ err: status.error }, 'NATS connection error');
      return;
    case 'staleConnection':
    case 'slowConsumer':
      logger.warn({ status: status.type }, 'NATS connection trouble');
      return;
    case 'ldm':
    case 'update':
    case 'close':
      logger.info({ status }, 'NATS connection status');
      return;
    default:
      // reconnecting (each attempt), ping, forceReconnect: counted, too chatty to log.
      logger.debug({ status: status.type }, 'NATS connection status');
  }
}
