import { endpointSubject, isSubjectToken, natsRequest, type Bus } from '@switchboard/bus';
import { STOCK_CHANGED, stockChangedSubject } from '@switchboard/events';
import { AppError } from '@switchboard/errors';
import { InventoryServiceService } from '@switchboard/contracts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '@switchboard/grpc';
import { INVENTORY_METHODS } from './grpc-inventory-client.js';
import type { InventoryClient, CallOptions } from './inventory-client.js';
import { toState, toStock } from './protobuf-mapping.js';

type Methods = typeof InventoryServiceService;
/** How long a watch waits for its first answer, the stock now. */
const FIRST_READ_TIMEOUT_MS = 5_000;

/**
 * The InventoryClient over NATS request-reply: the same protobuf messages as gRPC, sent to the
 * inventory service's endpoints (`inventory.v1.GetStock`, ...) on the process's one NATS
 * connection. The deadline becomes the request timeout and travels to the server, which drops
 * work whose caller has given up. Idempotent methods (`INVENTORY_METHODS`, the gRPC adapter's
 * policies) are retried with gRPC's numbers when no responder answered; see `natsRequest`.
 */
export function createNatsInventoryClient(options: {
  bus: Bus;
  /** The endpoints' subject prefix, e.g. `inventory.v1` (from `nats:inventory.v1`). */
  subjectPrefix: string;
  /** The service name for its health check (`$SRV.PING.<name>`). */
  serviceName: string;
  /** Default: the gRPC adapter's, so both transports retry alike. */
  retryPolicy?: RetryPolicy;
}): InventoryClient {
  const { bus, subjectPrefix, serviceName, retryPolicy = DEFAULT_RETRY_POLICY } = options;

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
      {
        ...callOptions,
        peerName: 'inventory',
        // Only "no responders" is retried, inside the deadline; a timeout never is.
        retry: INVENTORY_METHODS[key]?.idempotent ? retryPolicy : undefined,
      },
    );
    return method.responseDeserialize(
      Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength),
    ) as ReturnType<Methods[K]['responseDeserialize']>;
  }

  async function getStock(sku: string, callOptions: CallOptions) {
    const response = await call('getStock', { sku }, callOptions);
    return toStock(response.stock);
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
      return { stock: response.stock.map(toStock), nextPageToken: response.nextPageToken };
    },
    // WatchStock's NATS equivalent: the StockChanged events inventory publishes anyway, on a
    // subscription of this client's own to the SKU's subject, so the server sends this SKU's
    // events only.
    async *watchStock(sku, { signal }) {
      // A SKU that is not one subject token would subscribe to a wildcard (`*`, `>`) or a bad
      // subject (`.`, white space). The catalog admits no such SKU, so it is answered as any
      // unknown SKU is, without subscribing: the read gives the server's own answer (NOT_FOUND,
      // or INVALID_ARGUMENT when blank), as over gRPC.
      const subscription = isSubjectToken(sku)
        ? bus.connection.subscribe(stockChangedSubject(sku))
        : undefined;
      const stop = () => subscription?.unsubscribe();
      signal.addEventListener('abort', stop, { once: true });
      try {
        // Subscribed before the read, so a change between the two is not missed.
        const current = await getStock(sku, {
          deadline: new Date(Date.now() + FIRST_READ_TIMEOUT_MS),
          signal,
        });
        if (!subscription) {
          throw new AppError('NOT_FOUND', `unknown SKU: ${sku}`, { details: { skus: [sku] } });
        }
        yield current;
        for await (const message of subscription) {
          const { onHand, reserved, available } = STOCK_CHANGED.decode(message.data);
          yield { ...current, onHand, reserved, available };
        }
      } catch (error) {
        if (!signal.aborted) throw error;
      } finally {
        signal.removeEventListener('abort', stop);
        stop();
      }
    },
    // Any instance answering the micro protocol's PING serves the API: inventory starts its
    // NATS service only once ready and stops it first on shutdown. Never retried, as over
    // gRPC: a readiness probe should see the outage, not ride it out.
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
