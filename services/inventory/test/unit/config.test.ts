import { ConfigError } from '@switchboard/config';
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../src/config.js';

describe('readConfig', () => {
  it('needs only DATABASE_URL and defaults the rest', () => {
    expect(readConfig({ DATABASE_URL: 'postgres://u:p@db:5432/inventory' })).toEqual({
      databaseUrl: 'postgres://u:p@db:5432/inventory',
      grpcHost: '0.0.0.0',
      grpcPort: 50051,
      grpcSocketPath: '',
      opsHost: '0.0.0.0',
      opsPort: 9464,
      logLevel: 'info',
      seedFile: '',
      shutdownTimeoutMs: 10_000,
      shutdownDelayMs: 1_000,
      dbPoolMax: 10,
      natsUrl: 'nats://nats:4222',
      consumerMaxDeliveries: 5,
      consumerRetryDelayMs: 1_000,
      reservationSweepIntervalMs: 5_000,
      outboxPollIntervalMs: 500,
    });
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
});
