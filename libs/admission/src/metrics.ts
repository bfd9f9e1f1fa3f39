import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Why work was refused: the reasons of `admission_requests_shed_total`. */
export const SHED_REASONS = ['limit', 'queue_full', 'deadline', 'cancelled'] as const;
export type ShedReason = (typeof SHED_REASONS)[number];

/** A metric of the registry by name, created the first time: several limiters share one. */
function once<M extends Counter<string> | Gauge<string> | Histogram<string>>(
  registry: Registry,
  name: string,
  create: () => M,
): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create();
}

/** The metrics of one limiter, every series labelled with its name. */
export function admissionMetrics(registry: Registry, limiter: string) {
  const admitted = once(
    registry,
    'admission_requests_admitted_total',
    () =>
      new Counter({
        name: 'admission_requests_admitted_total',
        help: 'Requests the admission limiter let through, at once or after a wait in its queue.',
        labelNames: ['limiter'] as const,
        registers: [registry],
      }),
  );
  const shed = once(
    registry,
    'admission_requests_shed_total',
    () =>
      new Counter({
        name: 'admission_requests_shed_total',
        help: 'Requests refused without being started, by reason: limit (no slot came in time), queue_full, deadline (could not finish in time), cancelled (the caller left while queued).',
        labelNames: ['limiter', 'reason'] as const,
        registers: [registry],
      }),
  );
  const limit = once(
    registry,
    'admission_limit',
    () =>
      new Gauge({
        name: 'admission_limit',
        help: 'The current concurrency limit: how many requests may run at once.',
        labelNames: ['limiter'] as const,
        registers: [registry],
      }),
  );
  const inFlight = once(
    registry,
    'admission_in_flight',
    () =>
      new Gauge({
        name: 'admission_in_flight',
        help: 'Requests admitted and not yet finished.',
        labelNames: ['limiter'] as const,
        registers: [registry],
      }),
  );
  const queued = once(
    registry,
    'admission_queue_length',
    () =>
      new Gauge({
        name: 'admission_queue_length',
        help: 'Requests waiting for a slot.',
        labelNames: ['limiter'] as const,
        registers: [registry],
      }),
  );
  const queueWait = once(
    registry,
    'admission_queue_wait_seconds',
    () =>
      new Histogram({
        name: 'admission_queue_wait_seconds',
        help: 'Time from arrival to admission or refusal, by outcome (admitted, shed); 0 when decided at once.',
        labelNames: ['limiter', 'outcome'] as const,
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
        registers: [registry],
      }),
  );

  // Every series exists from the start, so dashboards and alerts see 0, not "no data".
  admitted.inc({ limiter }, 0);
  for (const reason of SHED_REASONS) shed.inc({ limiter, reason }, 0);

  return {
    admitted(waitedMs: number) {
      admitted.inc({ limiter });
      queueWait.observe({ limiter, outcome: 'admitted' }, waitedMs / 1000);
    },
    shed(reason: ShedReason, waitedMs: number) {
      shed.inc({ limiter, reason });
      queueWait.observe({ limiter, outcome: 'shed' }, waitedMs / 1000);
    },
    show(state: { limit: number; inFlight: number; queued: number }) {
      limit.set({ limiter }, state.limit);
      inFlight.set({ limiter }, state.inFlight);
      queued.set({ limiter }, state.queued);
    },
  };
}
