import { STOCK_CHANGED, endpointSubject, natsRequest, type Bus } from '@switchboard/bus';
import { InventoryServiceService } from '@switchboard/contracts';
import type { InventoryClient, CallOptions } from './inventory-client.js';
import { toState, toStockLevel } from './protobuf-mapping.js';

type Methods = typeof InventoryServiceService;
/** How long a watch waits for its first answer, the stock now. */
const FIRST_READ_TIMEOUT_MS = 5_000;

/**
 * The InventoryClient over NATS request-reply: the same protobuf messages as gRPC, sent to the
 * inventory service's endpoints (`inventory.v1.GetStock`, ...) on the process's one NATS
 * connection. The deadline becomes the request timeout and travels to the server, which drops
 * work whose caller has given up.
 */
export function createNatsInventoryClient(options: {
  bus: Bus;
  /** The endpoints' subject prefix, e.g. `inventory.v1` (from `nats:inventory.v1`). */
  subjectPrefix: string;
  /** The service name for its health check (`$SRV.PING.<name>`). */
  serviceName: string;
}): InventoryClient {
  const { bus, subjectPrefix, serviceName } = options;

  async function call<K extends keyof Methods>(
    key: K,
    request: Parameters<Methods[K]['requestSerialize']>[0],
    callOptions: CallOptions,
  ): Promise<ReturnType<Methods[K]['responseDeserialize']>> {
    const method = InventoryServiceService[key];
    const rpcName = method.path.split('/')[2] ?? String(key);
    const serialize = method.requestSerialize as (value: typeof request) => Buffer;
    const reply = await natsRequest(
      bus,
      endpointSubject(subjectPrefix, rpcName),
      serialize(request),
      { ...callOptions, peerName: 'inventory' },
    );
    return method.responseDeserialize(
      Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength),
    ) as ReturnType<Methods[K]['responseDeserialize']>;
  }

  async function getStock(sku: string, callOptions: CallOptions) {
    const response = await call('getStock', { sku }, callOptions);
    return toStockLevel(response.stock);
  }

  return {
    async reserve(orderId, items, ttlSeconds, callOptions) {
      const { reservation } = await call('reserve', { orderId, items, ttlSeconds }, callOptions);
      return toState(reservation?.state);
    },
    async release(orderId, callOptions) {
      await call('release', { orderId }, callOptions);
    },
    getStock,
    async listStock(page, callOptions) {
      const response = await call('listStock', page, callOptions);
      return { stock: response.stock.map(toStockLevel), nextPageToken: response.nextPageToken };
    },
    // WatchStock's NATS equivalent: the StockChanged events inventory publishes anyway, on a
    // subscription of this client's own. The subject carries no SKU, so the filter is here.
    async *watchStock(sku, { signal }) {
      const subscription = bus.connection.subscribe(STOCK_CHANGED.subject);
      const stop = () => subscription.unsubscribe();
      signal.addEventListener('abort', stop, { once: true });
      try {
        // Subscribed before the read, so a change between the two is not missed.
        const current = await getStock(sku, {
          deadline: new Date(Date.now() + FIRST_READ_TIMEOUT_MS),
          signal,
        });
        yield current;
        for await (const message of subscription) {
          const { sku: changed, onHand, reserved, available } = STOCK_CHANGED.decode(message.data);
          if (changed === sku) yield { ...current, onHand, reserved, available };
        }
      } catch (error) {
        if (!signal.aborted) throw error;
      } finally {
        signal.removeEventListener('abort', stop);
        stop();
      }
    },
    // Any instance answering the micro protocol's PING serves the API: inventory starts its
    // NATS service only once ready and stops it first on shutdown.
    async checkHealth(callOptions) {
      await natsRequest(bus, `$SRV.PING.${serviceName}`, new Uint8Array(), {
        ...callOptions,
        peerName: 'inventory',
      });
    },
    // The connection is the process's bus, closed by its owner.
    close() {},
  };
}
