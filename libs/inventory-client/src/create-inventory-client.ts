import type { Bus } from '@switchboard/bus';
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
}

/** The one switch between transports: the target string picks the adapter. */
export function createInventoryClient(target: string, deps: InventoryClientDeps): InventoryClient {
  const parsed = parseInventoryTarget(target);
  if ('problem' in parsed) throw new Error(`inventory target ${target}: ${parsed.problem}`);
  switch (parsed.transport) {
    case 'grpc-tcp':
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
