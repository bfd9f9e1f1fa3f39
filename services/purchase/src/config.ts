import {
  custom,
  integer,
  loadConfig,
  oneOf,
  port,
  string,
  url,
  type Env,
} from '@switchboard/config';
import { LOG_LEVELS } from '@switchboard/observability';

/** Every variable purchase reads; README.md has the same table for operators. */
export const configSpec = {
  databaseUrl: url('DATABASE_URL', { protocols: ['postgres', 'postgresql'] }),
  dbPoolMax: integer('DB_POOL_MAX', { default: 10, min: 1, max: 100 }),
  httpHost: string('HTTP_HOST', { default: '0.0.0.0' }),
  httpPort: port('HTTP_PORT', { default: 8080 }),
  opsHost: string('OPS_HOST', { default: '0.0.0.0' }),
  opsPort: port('OPS_PORT', { default: 9464 }),
  // Checked here, so a bad target stops the start instead of failing the first purchase.
  inventoryTarget: custom('INVENTORY_TARGET', { default: 'dns:///inventory:50051' }, (raw) =>
    /^dns:\/\/\/[^/:]+:\d{1,5}$/.test(raw) ? raw : { problem: 'must look like dns:///host:port' },
  ),
  requestTimeoutMs: integer('REQUEST_TIMEOUT_MS', { default: 5_000, min: 100, max: 60_000 }),
  reservationTtlSeconds: integer('RESERVATION_TTL_SECONDS', { default: 900, min: 1, max: 3600 }),
  logLevel: oneOf('LOG_LEVEL', LOG_LEVELS, { default: 'info' }),
  shutdownTimeoutMs: integer('SHUTDOWN_TIMEOUT_MS', { default: 10_000, min: 0 }),
  shutdownDelayMs: integer('SHUTDOWN_DELAY_MS', { default: 2_000, min: 0 }),
};

export type PurchaseConfig = ReturnType<typeof readConfig>;

export function readConfig(env: Env) {
  return loadConfig(env, configSpec);
}
