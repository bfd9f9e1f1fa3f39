import { InventoryServiceService, type GetStockResponse } from '@switchboard/contracts';
import { AppError } from '@switchboard/errors';
import { createGrpcServer, type TlsFiles } from '@switchboard/grpc';
import { createLogger, createMetricsRegistry } from '@switchboard/observability';

/**
 * The Inventory contract served by our gRPC server on loopback, with a GetStock that takes
 * `workMs` like a database read would: the peer for the demos of what a client does with its
 * sockets; with `tls`, its port is mTLS only, as inventory's. The other methods are not part of
 * those demos.
 */
export async function serveGetStock(workMs: number, options: { tls?: TlsFiles } = {}) {
  const server = createGrpcServer({
    logger: createLogger({ service: 'demo-inventory', level: 'warn' }),
    registry: createMetricsRegistry({ service: 'demo-inventory' }),
  });
  const notInDemo = () => Promise.reject(new AppError('INTERNAL', 'not in this demo'));
  server.addService(InventoryServiceService, {
    reserve: notInDemo,
    release: notInDemo,
    listStock: notInDemo,
    watchStock: () => ({
      [Symbol.asyncIterator]: () => ({
        next: () => Promise.resolve({ done: true, value: undefined }),
      }),
    }),
    getStock: async (request): Promise<GetStockResponse> => {
      await new Promise((resolve) => setTimeout(resolve, workMs));
      return {
        stock: { sku: request.sku, name: request.sku, onHand: 5, reserved: 0, available: 5 },
      };
    },
  });
  const port = await server.listen('127.0.0.1:0', options.tls && { tls: options.tls });
  return { port, stop: () => server.drain(1_000) };
}
