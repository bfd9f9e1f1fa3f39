import { Counter, Gauge, type Registry } from 'prom-client';

/** A metric of the registry by name, created the first time: several connections share one. */
function once<M extends Counter<string> | Gauge<string>>(
  registry: Registry,
  name: string,
  create: () => M,
): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create();
}

export function connectionMetrics(registry: Registry) {
  return {
    up: once(
      registry,
      'nats_connection_up',
      () =>
        new Gauge({
          name: 'nats_connection_up',
          help: '1 while the named NATS connection is connected, 0 while it reconnects.',
          labelNames: ['connection'] as const,
          registers: [registry],
        }),
    ),
    events: once(
      registry,
      'nats_connection_events_total',
      () =>
        new Counter({
          name: 'nats_connection_events_total',
          help: 'Status events of a NATS connection: disconnect, reconnect, error, staleConnection, ...',
          labelNames: ['connection', 'event'] as const,
          registers: [registry],
        }),
    ),
  };
}

export function consumerMetrics(registry: Registry) {
  const labelNames = ['stream', 'consumer'] as const;
  return {
    deliveries: once(
      registry,
      'jetstream_consumer_deliveries_total',
      () =>
        new Counter({
          name: 'jetstream_consumer_deliveries_total',
          help: 'Messages a JetStream consumer received, first deliveries and redeliveries.',
          labelNames,
          registers: [registry],
        }),
    ),
    redeliveries: once(
      registry,
      'jetstream_consumer_redeliveries_total',
      () =>
        new Counter({
          name: 'jetstream_consumer_redeliveries_total',
          help: 'Messages a JetStream consumer received again (not acknowledged in time, or failed).',
          labelNames,
          registers: [registry],
        }),
    ),
    handled: once(
      registry,
      'jetstream_consumer_handled_total',
      () =>
        new Counter({
          name: 'jetstream_consumer_handled_total',
          help: 'Messages handled, by result: ack (done), retry (failed, sent again later), dead_letter.',
          labelNames: [...labelNames, 'result'] as const,
          registers: [registry],
        }),
    ),
    pending: once(
      registry,
      'jetstream_consumer_pending_messages',
      () =>
        new Gauge({
          name: 'jetstream_consumer_pending_messages',
          help: 'Messages in the stream not yet delivered to the consumer, as of its last delivery.',
          labelNames,
          registers: [registry],
        }),
    ),
    deadLettered: once(
      registry,
      'jetstream_consumer_dead_lettered_total',
      () =>
        new Counter({
          name: 'jetstream_consumer_dead_lettered_total',
          help: 'Messages a consumer gave up on and moved to its dead-letter subject.',
          labelNames: [...labelNames, 'reason'] as const,
          registers: [registry],
        }),
    ),
  };
}
