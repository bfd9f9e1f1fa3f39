import type { Bus } from '@switchboard/bus';
import type { ClientTlsOptions } from '@switchboard/grpc';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createGrpcInventoryClient } from './grpc-inventory-client.js';
import type { InventoryClient } from './inventory-client.js';
import { parseInventoryTarget } from './inventory-target.js';
import { createNatsInventoryClient } from './nats-inventory-client.js';

export interface InventoryClientDeps {
  registry: Registry;
  logger: Logger;
  /** The process's NATS connection; the NATS adapter sends its requests on it. */
  bus: Bus;
  /** gRPC client keepalive (checked against the server's policy by the caller's config). */
  keepaliveTimeMs: number;
  /**
   * mTLS for gRPC over TCP: this service's certificate and the name inventory's must hold.
   * Not used on a Unix socket, which stays plaintext (its file mode protects it: ADR 15).
   */
  tls?: ClientTlsOptions;
}

/** The one switch between transports: the target string picks the adapter. */
export function createInventoryClient(target: string, deps: InventoryClientDeps): InventoryClient {
  const parsed = parseInventoryTarget(target);
  if ('problem' in parsed) throw new Error(`inventory target ${target}: ${parsed.problem}`);
  switch (parsed.transport) {
    case 'grpc-tcp':
      if (!deps.tls) deps.logger.warn({ target }, 'gRPC over TCP without TLS: no certificates set');
      return createGrpcInventoryClient({
        target: parsed.target,
        registry: deps.registry,
        logger: deps.logger,
        keepaliveTimeMs: deps.keepaliveTimeMs,
        tls: deps.tls,
      });
    case 'grpc-uds':
      return createGrpcInventoryClient({
        target: parsed.target,
        registry: deps.registry,
        logger: deps.logger,
        keepaliveTimeMs: deps.keepaliveTimeMs,
      });
    case 'nats':
      return createNatsInventoryClient({
        bus: deps.bus,
        subjectPrefix: parsed.subjectPrefix,
        serviceName: parsed.serviceName,
      });
  }
}
