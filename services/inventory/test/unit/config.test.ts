import { ConfigError } from '@switchboard/config';
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../src/config.js';

describe('readConfig', () => {
  it('reads the stock ticks subscribers, and names a bad one', () => {
    const env = { DATABASE_URL: 'postgres://u:p@db:5432/inventory' };
    expect(
      readConfig({ ...env, STOCK_TICKS_TARGETS: 'purchase:7070, [::1]:7071' }).stockTicksTargets,
    ).toEqual([
      { host: 'purchase', port: 7070 },
      { host: '::1', port: 7071 },
    ]);
    expect(() => readConfig({ ...env, STOCK_TICKS_TARGETS: 'purchase' })).toThrow(
      /STOCK_TICKS_TARGETS.*not host:port/,
    );
  });

  it('needs only DATABASE_URL and defaults the rest', () => {
    expect(readConfig({ DATABASE_URL: 'postgres://u:p@db:5432/inventory' })).toEqual({
      databaseUrl: 'postgres://u:p@db:5432/inventory',
      databasePasswordFile: '',
      grpcHost: '0.0.0.0',
      grpcPort: 50051,
      grpcSocketPath: '',
      tlsCaFile: '',
      tlsCertFile: '',
      tlsKeyFile: '',
      grpcTls: undefined,
      natsTlsCaFile: '',
      natsTlsCertFile: '',
      natsTlsKeyFile: '',
      natsTls: undefined,
      opsHost: '0.0.0.0',
      opsPort: 9464,
      logLevel: 'info',
      seedFile: '',
      shutdownTimeoutMs: 10_000,
      shutdownDelayMs: 1_000,
      dbPoolMax: 10,
      dbConnectionTimeoutMs: 2_000,
      dbStatementTimeoutMs: 5_000,
      dbIdleInTransactionTimeoutMs: 60_000,
      batchMax: 64,
      batchesInFlight: 2,
      admissionQueueSize: 100,
      admissionQueueTimeoutMs: 1_000,
      stockTicksTargets: [],
      stockTicksHeartbeatMs: 1_000,
      natsUrl: 'nats://nats:4222',
      natsStreamReplicas: 1,
      consumerMaxDeliveries: 5,
      consumerRetryDelayMs: 1_000,
      reservationSweepIntervalMs: 5_000,
      outboxPollIntervalMs: 500,
      outboxRetentionHours: 72,
      inboxRetentionHours: 192,
      retentionIntervalMs: 300_000,
    });
  });

  it('gives the mTLS files when all three are set, and refuses some without the others', () => {
    const databaseUrl = 'postgres://u:p@db:5432/inventory';
    expect(
      readConfig({
        DATABASE_URL: databaseUrl,
        GRPC_TLS_CA_FILE: '/etc/switchboard/tls/ca.pem',
        GRPC_TLS_CERT_FILE: '/etc/switchboard/tls/cert.pem',
        GRPC_TLS_KEY_FILE: '/etc/switchboard/tls/key.pem',
      }).grpcTls,
    ).toEqual({
      caFile: '/etc/switchboard/tls/ca.pem',
      certFile: '/etc/switchboard/tls/cert.pem',
      keyFile: '/etc/switchboard/tls/key.pem',
    });
    expect(() =>
      readConfig({
        DATABASE_URL: databaseUrl,
        GRPC_TLS_CERT_FILE: '/etc/switchboard/tls/cert.pem',
      }),
    ).toThrow(/GRPC_TLS_CA_FILE, GRPC_TLS_CERT_FILE, GRPC_TLS_KEY_FILE must be set together/);
  });

  it('gives the NATS TLS files apart from the gRPC ones, and names both when both are half set', () => {
    const databaseUrl = 'postgres://u:p@db:5432/inventory';
    expect(
      readConfig({
        DATABASE_URL: databaseUrl,
        NATS_URL: 'tls://nats:4222',
        NATS_TLS_CA_FILE: '/tls/ca.pem',
        NATS_TLS_CERT_FILE: '/tls/cert.pem',
        NATS_TLS_KEY_FILE: '/tls/key.pem',
      }),
    ).toMatchObject({
      natsUrl: 'tls://nats:4222',
      natsTls: { caFile: '/tls/ca.pem', certFile: '/tls/cert.pem', keyFile: '/tls/key.pem' },
      grpcTls: undefined,
    });
    let error: unknown;
    try {
      readConfig({
        DATABASE_URL: databaseUrl,
        GRPC_TLS_KEY_FILE: '/tls/key.pem',
        NATS_TLS_CERT_FILE: '/tls/cert.pem',
      });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toMatch(/GRPC_TLS_CA_FILE, GRPC_TLS_CERT_FILE, GRPC_TLS_KEY_FILE must/);
    expect(String(error)).toMatch(/NATS_TLS_CA_FILE, NATS_TLS_CERT_FILE, NATS_TLS_KEY_FILE must/);
  });

  it('refuses a gRPC socket path that is relative or longer than a Unix socket address allows', () => {
    const long = `/run/${'s'.repeat(110)}.sock`;
    let error: unknown;
    try {
      readConfig({ DATABASE_URL: 'postgres://u:p@db:5432/inventory', GRPC_SOCKET_PATH: long });
    } catch (caught) {
      error = caught;
    }
    expect((error as ConfigError).problems).toEqual([
      `GRPC_SOCKET_PATH: socket path ${long} is 120 bytes; Linux allows at most 107 (got "${long}")`,
    ]);
    expect(() =>
      readConfig({ DATABASE_URL: 'postgres://u:p@db:5432/inventory', GRPC_SOCKET_PATH: 'a.sock' }),
    ).toThrow('GRPC_SOCKET_PATH: socket path a.sock must be absolute');
  });

  it('refuses a NATS_URL that is not nats://', () => {
    expect(() =>
      readConfig({
        DATABASE_URL: 'postgres://u:p@db:5432/inventory',
        NATS_URL: 'http://nats:4222',
      }),
    ).toThrow(/NATS_URL: must be a URL with scheme nats/);
  });

  it('reports every bad variable at once', () => {
    const error = (() => {
      try {
        readConfig({
          DATABASE_URL: 'mysql://db/x',
          GRPC_PORT: '70000',
          LOG_LEVEL: 'loud',
          DB_POOL_MAX: '0',
        });
      } catch (caught) {
        return caught;
      }
    })();

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      expect.stringContaining('DATABASE_URL'),
      expect.stringContaining('GRPC_PORT'),
      expect.stringContaining('LOG_LEVEL'),
      expect.stringContaining('DB_POOL_MAX'),
    ]);
  });

  it('refuses a readiness pause that leaves no time to drain', () => {
    expect(() =>
      readConfig({
        DATABASE_URL: 'postgresql://db/x',
        SHUTDOWN_TIMEOUT_MS: '1000',
        SHUTDOWN_DELAY_MS: '1000',
      }),
    ).toThrow(ConfigError);
  });

  it('refuses an inbox retention shorter than the ORDERS stream keeps messages, saying what to set', () => {
    let error: unknown;
    try {
      readConfig({
        DATABASE_URL: 'postgres://u:p@db:5432/inventory',
        INBOX_RETENTION_HOURS: '167',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'INBOX_RETENTION_HOURS (601200000 ms) must be at least the max_age of the ORDERS stream inventory consumes (604800000 ms): a message id forgotten while the stream can still deliver the message again lets that delivery apply it twice; set INBOX_RETENTION_HOURS to 168 or more',
    ]);
  });

  it('accepts an inbox retention exactly as long as the ORDERS max_age', () => {
    const config = readConfig({
      DATABASE_URL: 'postgres://u:p@db:5432/inventory',
      INBOX_RETENTION_HOURS: '168',
      OUTBOX_RETENTION_HOURS: '1',
      RETENTION_INTERVAL_MS: '1000',
    });
    expect(config).toMatchObject({
      inboxRetentionHours: 168,
      outboxRetentionHours: 1,
      retentionIntervalMs: 1000,
    });
  });

  it('reports a retention clash together with the other disagreements, and bad retention values', () => {
    const problems = (env: Record<string, string>) => {
      try {
        readConfig({ DATABASE_URL: 'postgres://u:p@db:5432/inventory', ...env });
      } catch (caught) {
        return (caught as ConfigError).problems;
      }
      return [];
    };
    expect(
      problems({
        SHUTDOWN_TIMEOUT_MS: '1000',
        SHUTDOWN_DELAY_MS: '1000',
        INBOX_RETENTION_HOURS: '24',
      }),
    ).toEqual([
      'SHUTDOWN_DELAY_MS (1000) must be less than SHUTDOWN_TIMEOUT_MS (1000)',
      expect.stringMatching(/^INBOX_RETENTION_HOURS \(86400000 ms\) must be at least/),
    ]);
    expect(
      problems({
        OUTBOX_RETENTION_HOURS: '0',
        INBOX_RETENTION_HOURS: 'a week',
        RETENTION_INTERVAL_MS: '-1',
      }),
    ).toEqual([
      'OUTBOX_RETENTION_HOURS: must be between 1 and 87600 (got "0")',
      'INBOX_RETENTION_HOURS: must be a whole number (got "a week")',
      'RETENTION_INTERVAL_MS: must be between 10 and 86400000 (got "-1")',
    ]);
  });
});
