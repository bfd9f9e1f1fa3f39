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
    });
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
      'INVENTORY_TARGET: must look like dns:///host:port (got "inventory:50051")',
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "chatty")',
    ]);
  });
});
