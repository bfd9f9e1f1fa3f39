import type { Bus } from '@switchboard/bus';
import { createDatagramSender, type DatagramTarget } from '@switchboard/datagrams';
import { STOCK_CHANGED } from '@switchboard/events';
import type { Logger } from '@switchboard/observability';
import type { Registry } from 'prom-client';

/** The metric label of the stock ticks' datagrams, on both sides. */
export const STOCK_TICKS_STREAM = 'stock-ticks';

/**
 * Stock ticks over UDP (ADR 26): each StockChanged inventory publishes, sent on as one
 * sequence-numbered datagram to each subscriber, whose payload is the event's own protobuf
 * bytes. Fire and forget: a subscriber that misses one sees the gap and reads a snapshot.
 */
export async function startStockTicks(deps: {
  bus: Bus;
  targets: DatagramTarget[];
  heartbeatIntervalMs: number;
  registry: Registry;
  logger: Logger;
}): Promise<{ stop(): Promise<void> }> {
  const sender = createDatagramSender({
    stream: STOCK_TICKS_STREAM,
    targets: deps.targets,
    registry: deps.registry,
    heartbeatIntervalMs: deps.heartbeatIntervalMs,
    onError: (target, error) =>
      deps.logger.warn(
        { err: error, target },
        'stock ticks: subscriber socket error; reconnecting',
      ),
  });
  await sender.start();
  const subscription = deps.bus.connection.subscribe(STOCK_CHANGED.subject, {
    callback: (error, message) => {
      if (!error) sender.send(message.data);
    },
  });
  deps.logger.info({ targets: deps.targets }, 'stock ticks over UDP on');
  return {
    async stop() {
      subscription.unsubscribe();
      await sender.stop();
    },
  };
}
