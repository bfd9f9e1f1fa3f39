import { ConfigError } from '@switchboard/config';
import { describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';

describe('purchase config', () => {
  it('starts from defaults when only the database is given', () => {
    const config = readConfig({
      DATABASE_URL: 'postgres://purchase:purchase@postgres:5432/purchase',
    });
    expect(config).toMatchObject({
      httpPort: 8080,
      opsPort: 9464,
      inventoryTarget: 'dns:///inventory:50051',
      natsUrl: 'nats://nats:4222',
      outboxPollIntervalMs: 500,
      outboxRetentionHours: 72,
      retentionIntervalMs: 300_000,
      admissionInitialLimit: 24,
      admissionMinLimit: 12,
      admissionMaxLimit: 48,
      admissionQueueSize: 16,
      admissionQueueTimeoutMs: 5,
      inventoryTlsServerName: 'inventory',
      // The edge (ADR 18): timeouts checked every second, limits a real edge would use.
      httpHeadersTimeoutMs: 10_000,
      httpRequestTimeoutMs: 10_000,
      httpConnectionsCheckIntervalMs: 1_000,
      httpMaxHeaderSizeBytes: 16_384,
      httpMaxConnections: 20_000,
      httpRateLimitMax: 1_200,
      httpRateLimitWindowMs: 60_000,
    });
    // No certificates: plaintext TCP (compose always sets them: ADR 15).
    expect(config.grpcTls).toBeUndefined();
  });

  it('takes the mTLS files all together, never some of them', () => {
    const databaseUrl = 'postgres://purchase:purchase@postgres:5432/purchase';
    const config = readConfig({
      DATABASE_URL: databaseUrl,
      GRPC_TLS_CA_FILE: '/etc/switchboard/tls/ca.pem',
      GRPC_TLS_CERT_FILE: '/etc/switchboard/tls/cert.pem',
      GRPC_TLS_KEY_FILE: '/etc/switchboard/tls/key.pem',
      INVENTORY_TLS_SERVER_NAME: 'inventory.example',
    });
    expect(config.grpcTls?.certFile).toBe('/etc/switchboard/tls/cert.pem');
    expect(config.inventoryTlsServerName).toBe('inventory.example');
    expect(() =>
      readConfig({ DATABASE_URL: databaseUrl, GRPC_TLS_KEY_FILE: '/etc/switchboard/tls/key.pem' }),
    ).toThrow(/must be set together or not at all \(unset: GRPC_TLS_CA_FILE, GRPC_TLS_CERT_FILE\)/);
  });

  it('refuses an outbox retention under an hour or an interval that is not a number, at once', () => {
    let error: unknown;
    try {
      readConfig({
        DATABASE_URL: 'postgres://purchase:purchase@postgres:5432/purchase',
        OUTBOX_RETENTION_HOURS: '0',
        RETENTION_INTERVAL_MS: 'often',
      });
    } catch (caught) {
      error = caught;
    }
    expect((error as ConfigError).problems).toEqual([
      'OUTBOX_RETENTION_HOURS: must be between 1 and 87600 (got "0")',
      'RETENTION_INTERVAL_MS: must be a whole number (got "often")',
    ]);
  });

  it('refuses admission limits out of order, and a queue wait as long as the request timeout', () => {
    let error: unknown;
    try {
      readConfig({
        DATABASE_URL: 'postgres://purchase:purchase@postgres:5432/purchase',
        ADMISSION_MIN_LIMIT: '30',
        ADMISSION_INITIAL_LIMIT: '20',
        ADMISSION_QUEUE_TIMEOUT_MS: '5000',
      });
    } catch (caught) {
      error = caught;
    }
    expect((error as ConfigError).problems).toEqual([
      'ADMISSION_MIN_LIMIT (30) <= ADMISSION_INITIAL_LIMIT (20) <= ADMISSION_MAX_LIMIT (48) must hold: the limit starts, and stays, between its bounds',
      'REQUEST_TIMEOUT_MS (5000 ms) must be longer than ADMISSION_QUEUE_TIMEOUT_MS (5000 ms): a request that waits for a slot must still have time to run',
    ]);
  });

  it('refuses a NATS_URL that is not nats://', () => {
    expect(() =>
      readConfig({
        DATABASE_URL: 'postgres://purchase:purchase@postgres:5432/purchase',
        NATS_URL: 'http://nats:4222',
      }),
    ).toThrow(/NATS_URL: must be a URL with scheme nats/);
  });

  it('refuses to start with a bad inventory target, naming every bad variable at once', () => {
    let error: unknown;
    try {
      readConfig({ INVENTORY_TARGET: 'inventory:50051', HTTP_PORT: 'eighty', LOG_LEVEL: 'chatty' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'DATABASE_URL: is required but not set',
      'HTTP_PORT: must be a whole number (got "eighty")',
      'INVENTORY_TARGET: must look like dns:///host:port, ipv4:10.0.0.1:50051[,...], unix:///absolute/path.sock or nats:service.version (got "inventory:50051")',
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "chatty")',
    ]);
  });

  it('accepts a list of inventory addresses', () => {
    const config = readConfig({
      DATABASE_URL: 'postgres://purchase:purchase@postgres:5432/purchase',
      INVENTORY_TARGET: 'ipv4:127.0.0.1:50051,127.0.0.1:50052',
    });
    expect(config.inventoryTarget).toBe('ipv4:127.0.0.1:50051,127.0.0.1:50052');
  });

  it('accepts an inventory target on each transport: gRPC over TCP, over a socket, NATS', () => {
    for (const target of [
      'dns:///inventory:50051',
      'unix:///run/switchboard/inventory.sock',
      'nats:inventory.v1',
    ]) {
      const config = readConfig({
        DATABASE_URL: 'postgres://purchase:purchase@postgres:5432/purchase',
        INVENTORY_TARGET: target,
      });
      expect(config.inventoryTarget).toBe(target);
    }
  });

  it('refuses a socket target whose path does not fit a Unix socket address, naming its length', () => {
    const path = `/run/${'x'.repeat(120)}.sock`;
    expect(() =>
      readConfig({
        DATABASE_URL: 'postgres://purchase:purchase@postgres:5432/purchase',
        INVENTORY_TARGET: `unix://${path}`,
      }),
    ).toThrow(
      `INVENTORY_TARGET: unix target: socket path ${path} is 130 bytes; Linux allows at most 107`,
    );
  });

  it('refuses an idle-in-transaction timeout the outbox relay cannot work within', () => {
    expect(() =>
      readConfig({
        DATABASE_URL: 'postgres://purchase:purchase@postgres:5432/purchase',
        DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: '2000',
      }),
    ).toThrow(
      "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS (2000 ms) must be longer than the outbox relay's publish timeout (3000 ms)",
    );
  });

  it('refuses a relative socket path and a NATS target without a version', () => {
    for (const target of ['unix://inventory.sock', 'nats:inventory']) {
      expect(() =>
        readConfig({
          DATABASE_URL: 'postgres://purchase:purchase@postgres:5432/purchase',
          INVENTORY_TARGET: target,
        }),
      ).toThrow(/INVENTORY_TARGET: /);
    }
  });

  it('refuses settings that disagree, naming each pair and why', () => {
    let error: unknown;
    try {
      readConfig({
        DATABASE_URL: 'postgres://purchase:purchase@postgres:5432/purchase',
        INVENTORY_KEEPALIVE_TIME_MS: '2000',
        HTTP_KEEP_ALIVE_TIMEOUT_MS: '30000',
        LOAD_BALANCER_IDLE_TIMEOUT_MS: '60000',
        SHUTDOWN_TIMEOUT_MS: '4000',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      expect.stringMatching(
        /^INVENTORY_KEEPALIVE_TIME_MS \(2000\) must be at least the server's minimum ping interval/,
      ),
      expect.stringMatching(
        /^HTTP_KEEP_ALIVE_TIMEOUT_MS \(30000 ms\) must be longer than LOAD_BALANCER_IDLE_TIMEOUT_MS \(60000 ms\)/,
      ),
      expect.stringMatching(
        /^SHUTDOWN_TIMEOUT_MS \(4000 ms\) must be longer than SHUTDOWN_DELAY_MS \+ REQUEST_TIMEOUT_MS \(7000 ms\)/,
      ),
    ]);
  });

  it('refuses edge timeouts that disagree: headers after the request, a check as slow as them', () => {
    let error: unknown;
    try {
      readConfig({
        DATABASE_URL: 'postgres://purchase:purchase@postgres:5432/purchase',
        HTTP_HEADERS_TIMEOUT_MS: '20000',
        HTTP_REQUEST_TIMEOUT_MS: '10000',
        HTTP_CONNECTIONS_CHECK_INTERVAL_MS: '30000',
        HTTP_MAX_HEADER_SIZE_BYTES: '10',
        HTTP_RATE_LIMIT_MAX: '-1',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    // Each value alone first, all of them at once.
    expect((error as ConfigError).problems).toEqual([
      expect.stringMatching(/^HTTP_MAX_HEADER_SIZE_BYTES: must be between 1024 and 1048576/),
      expect.stringMatching(/^HTTP_RATE_LIMIT_MAX: must be between 0 and/),
    ]);

    try {
      readConfig({
        DATABASE_URL: 'postgres://purchase:purchase@postgres:5432/purchase',
        HTTP_HEADERS_TIMEOUT_MS: '20000',
        HTTP_REQUEST_TIMEOUT_MS: '10000',
        HTTP_CONNECTIONS_CHECK_INTERVAL_MS: '30000',
      });
    } catch (caught) {
      error = caught;
    }
    expect((error as ConfigError).problems).toEqual([
      expect.stringMatching(
        /^HTTP_REQUEST_TIMEOUT_MS \(10000 ms\) must be at least HTTP_HEADERS_TIMEOUT_MS \(20000 ms\)/,
      ),
      expect.stringMatching(
        /^HTTP_HEADERS_TIMEOUT_MS \(20000 ms\) must be longer than HTTP_CONNECTIONS_CHECK_INTERVAL_MS \(30000 ms\)/,
      ),
    ]);
  });
});
