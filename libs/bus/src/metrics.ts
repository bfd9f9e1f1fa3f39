import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** A metric of the registry by name, created the first time: several connections share one. */
function once<M extends Counter<string> | Gauge<string> | Histogram<string>>(
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

/** What the server refused this connection's user (its permissions, deploy/nats). */
export function permissionMetrics(registry: Registry) {
  return once(
    registry,
    'nats_permission_denials_total',
    () =>
      new Counter({
        name: 'nats_permission_denials_total',
        help: 'Publishes and subscriptions the NATS server refused to this connection (permissions violation).',
        labelNames: ['connection', 'operation'] as const,
        registers: [registry],
      }),
  );
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

type RequestMetrics = {
  retries: Counter<'subject'>;
  observe(side: 'client' | 'server', subject: string, outcome: string, startedAt: number): void;
};

/** One set per registry: built once, since the request path asks for it on every call. */
const requestMetricsByRegistry = new WeakMap<Registry, RequestMetrics>();

/** nats_request_duration_seconds by side, subject and outcome; nats_request_retries_total. */
export function requestMetrics(registry: Registry): RequestMetrics {
  let metrics = requestMetricsByRegistry.get(registry);
  if (!metrics) {
    metrics = createRequestMetrics(registry);
    requestMetricsByRegistry.set(registry, metrics);
  }
  return metrics;
}

function createRequestMetrics(registry: Registry): RequestMetrics {
  const retries = once(
    registry,
    'nats_request_retries_total',
    () =>
      new Counter({
        name: 'nats_request_retries_total',
        help: 'NATS requests sent again by the client because no responder answered or the service was overloaded, by subject.',
        labelNames: ['subject'] as const,
        registers: [registry],
      }),
  );
  const duration = once(
    registry,
    'nats_request_duration_seconds',
    () =>
      new Histogram({
        name: 'nats_request_duration_seconds',
        help: 'NATS request-reply calls by side (client, server), subject and outcome (OK or the error code).',
        labelNames: ['side', 'subject', 'outcome'] as const,
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers: [registry],
      }),
  );
  // The labelled child per (side, subject, outcome), made once: a call then records without
  // hashing its labels again (as libs/grpc's metrics do).
  const children = new Map<string, { observe(seconds: number): void }>();
  return {
    retries,
    observe(side, subject, outcome, startedAt) {
      const key = `${side} ${subject} ${outcome}`;
      let child = children.get(key);
      if (!child) {
        child = duration.labels({ side, subject, outcome });
        children.set(key, child);
      }
      child.observe((performance.now() - startedAt) / 1000);
    },
  };
}
