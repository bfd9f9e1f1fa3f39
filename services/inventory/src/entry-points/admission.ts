import { runAdmitted, type AdaptiveLimiter } from '@switchboard/admission';
import type { InventoryServiceService } from '@switchboard/contracts';
import type { CallContext, ServiceHandlers } from '@switchboard/grpc';

type InventoryHandlers = ServiceHandlers<typeof InventoryServiceService>;

/**
 * The Inventory API behind admission control (ADR 11), for every transport at once: gRPC over
 * TCP and UDS and the NATS service all run these handlers. Each unary call holds one database
 * connection while it runs, so the limiter has one slot per pool connection; a call that finds
 * none waits briefly in its queue or is answered OVERLOADED (gRPC RESOURCE_EXHAUSTED, NATS 503)
 * at once, instead of waiting on the pool until its deadline. WatchStock is not limited: it
 * holds no connection while it streams.
 */
export function withAdmission(
  handlers: InventoryHandlers,
  limiter: AdaptiveLimiter,
): InventoryHandlers {
  const admitted = <T>(context: CallContext, work: () => Promise<T>) =>
    runAdmitted(limiter, work, {
      timeLeftMs: context.deadline && context.deadline.getTime() - Date.now(),
      signal: context.signal,
    });
  return {
    ...handlers,
    reserve: (request, context) => admitted(context, () => handlers.reserve(request, context)),
    release: (request, context) => admitted(context, () => handlers.release(request, context)),
    getStock: (request, context) => admitted(context, () => handlers.getStock(request, context)),
    listStock: (request, context) => admitted(context, () => handlers.listStock(request, context)),
  };
}
