import { socketPathProblem } from '@switchboard/uds';

/**
 * Where inventory is and over which transport, as one string (INVENTORY_TARGET):
 * - `dns:///inventory:50051`: gRPC over TCP, every address the name resolves to;
 * - `ipv4:10.0.0.1:50051,10.0.0.2:50051`: gRPC over TCP to a fixed list (tests, static setups);
 * - `unix:///run/switchboard/inventory.sock`: gRPC over a Unix-domain socket;
 * - `nats:inventory.v1`: NATS request-reply to the `inventory` service's endpoints.
 */
export type InventoryTarget =
  | { transport: 'grpc-tcp'; target: string }
  | { transport: 'grpc-uds'; target: string; socketPath: string }
  | { transport: 'nats'; target: string; subjectPrefix: string; serviceName: string };

export const INVENTORY_TARGET_FORMS =
  'dns:///host:port, ipv4:10.0.0.1:50051[,...], unix:///absolute/path.sock or nats:service.version';

/** The parsed target, or the problem with it (for config validation, before anything starts). */
export function parseInventoryTarget(raw: string): InventoryTarget | { problem: string } {
  if (/^dns:\/\/\/[^/:]+:\d{1,5}$/.test(raw)) return { transport: 'grpc-tcp', target: raw };
  if (/^ipv4:\d{1,3}(\.\d{1,3}){3}:\d{1,5}(,\d{1,3}(\.\d{1,3}){3}:\d{1,5})*$/.test(raw)) {
    return { transport: 'grpc-tcp', target: raw };
  }
  if (raw.startsWith('unix://')) {
    const socketPath = raw.slice('unix://'.length);
    const problem = socketPathProblem(socketPath);
    if (problem) return { problem: `unix target: ${problem}` };
    return { transport: 'grpc-uds', target: raw, socketPath };
  }
  const nats = /^nats:([a-z][a-z0-9_-]*)\.(v\d+)$/.exec(raw);
  if (nats?.[1]) {
    return {
      transport: 'nats',
      target: raw,
      subjectPrefix: raw.slice('nats:'.length),
      serviceName: nats[1],
    };
  }
  return { problem: `must look like ${INVENTORY_TARGET_FORMS}` };
}
