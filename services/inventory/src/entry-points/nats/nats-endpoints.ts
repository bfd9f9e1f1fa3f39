import {
  startNatsService,
  type Bus,
  type EndpointHandler,
  type NatsService,
} from '@switchboard/bus';
import { InventoryServiceService } from '@switchboard/contracts';
import { AppError } from '@switchboard/errors';
import type { ServiceHandlers } from '@switchboard/grpc';

/** The NATS service's identity: `$SRV.INFO.inventory` shows it, `nats:inventory.v1` targets it. */
export const INVENTORY_NATS_SERVICE = {
  name: 'inventory',
  version: '1.0.0',
  subjectPrefix: 'inventory.v1',
  description:
    'The Inventory API (switchboard.inventory.v1) over NATS request-reply; protobuf payloads.',
} as const;

/**
 * The Inventory API over NATS: the very handlers the gRPC server runs, with the same protobuf
 * encoding. Each unary RPC is one endpoint named as in the .proto (`inventory.v1.GetStock`), so the
 * two transports cannot drift apart.
 */
export function startInventoryNatsService(
  bus: Bus,
  handlers: ServiceHandlers<typeof InventoryServiceService>,
): Promise<NatsService> {
  const endpoints: Record<string, EndpointHandler> = {};
  for (const [key, method] of Object.entries(InventoryServiceService)) {
    // A stream is not request-reply: over NATS, WatchStock's equivalent is the SKU's own
    // StockChanged subject, `inventory.events.stock.changed.<sku>` (ADR 9).
    if (method.responseStream) continue;
    const handler = handlers[key as keyof typeof InventoryServiceService] as (
      request: unknown,
      context: Parameters<EndpointHandler>[1],
    ) => Promise<unknown>;
    const rpcName = method.path.split('/')[2] ?? key;
    endpoints[rpcName] = async (payload, context) => {
      let request: unknown;
      try {
        request = method.requestDeserialize(
          Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
        );
      } catch (error) {
        throw new AppError('INVALID_ARGUMENT', `not a ${rpcName} request message`, {
          cause: error,
        });
      }
      const response = await handler(request, context);
      return (method.responseSerialize as (value: unknown) => Buffer)(response);
    };
  }
  return startNatsService(bus, { ...INVENTORY_NATS_SERVICE, endpoints });
}
