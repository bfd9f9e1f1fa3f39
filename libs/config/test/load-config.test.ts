import { describe, expect, it } from 'vitest';
import { ConfigError, integer, loadConfig, oneOf, port, string, url } from '../src/index.js';

const spec = {
  databaseUrl: url('DATABASE_URL', { protocols: ['postgres', 'postgresql'] }),
  port: port('PORT', { default: 8080 }),
  retries: integer('RETRIES', { default: 3, min: 0, max: 10 }),
  logLevel: oneOf('LOG_LEVEL', ['debug', 'info', 'warn'], { default: 'info' }),
  name: string('SERVICE_NAME'),
};

describe('loadConfig', () => {
  it('reads typed values and applies defaults', () => {
    const config = loadConfig(
      { DATABASE_URL: 'postgres://u:p@db:5432/x', SERVICE_NAME: 'inventory', RETRIES: '5' },
      spec,
    );
    expect(config).toEqual({
      databaseUrl: 'postgres://u:p@db:5432/x',
      port: 8080,
      retries: 5,
      logLevel: 'info',
      name: 'inventory',
    });
  });

  it('reports every bad variable at once', () => {
    let error: unknown;
    try {
      loadConfig(
        { DATABASE_URL: 'mysql://db', PORT: '99999', RETRIES: '2.5', LOG_LEVEL: 'loud' },
        spec,
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(5);
    expect(problems).toEqual([
      'DATABASE_URL: must be a URL with scheme postgres or postgresql (got "mysql://db")',
      'PORT: must be between 0 and 65535 (got "99999")',
      'RETRIES: must be a whole number (got "2.5")',
      'LOG_LEVEL: must be one of debug, info, warn (got "loud")',
      'SERVICE_NAME: is required but not set',
    ]);
    expect((error as ConfigError).message).toContain('SERVICE_NAME: is required');
  });

  it('treats an empty variable as unset', () => {
    const config = loadConfig(
      { DATABASE_URL: 'postgres://db/x', SERVICE_NAME: 'x', PORT: '' },
      spec,
    );
    expect(config.port).toBe(8080);
  });
});
