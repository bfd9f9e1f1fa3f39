import { Counter, Gauge, type Registry } from 'prom-client';
import { CIRCUIT_STATES, type CircuitState } from './circuit-state.js';

/** A metric of the registry by name, created the first time: several breakers share one. */
function once<M extends Counter<string> | Gauge<string>>(
  registry: Registry,
  name: string,
  create: () => M,
): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create();
}

/**
 * The state as a state set (one series per state, 1 for the current one), the Prometheus way
 * of exporting an enum, plus counters of transitions and of calls refused while open.
 */
export function circuitBreakerMetrics(registry: Registry, breaker: string) {
  const state = once(
    registry,
    'circuit_breaker_state',
    () =>
      new Gauge({
        name: 'circuit_breaker_state',
        help: 'Current state of a circuit breaker: 1 for the state it is in, 0 for the others.',
        labelNames: ['breaker', 'state'] as const,
        registers: [registry],
      }),
  );
  const transitions = once(
    registry,
    'circuit_breaker_transitions_total',
    () =>
      new Counter({
        name: 'circuit_breaker_transitions_total',
        help: 'Times a circuit breaker entered a state.',
        labelNames: ['breaker', 'state'] as const,
        registers: [registry],
      }),
  );
  const rejected = once(
    registry,
    'circuit_breaker_rejected_calls_total',
    () =>
      new Counter({
        name: 'circuit_breaker_rejected_calls_total',
        help: 'Calls refused at once because the circuit was open.',
        labelNames: ['breaker'] as const,
        registers: [registry],
      }),
  );

  const show = (current: CircuitState) => {
    for (const each of CIRCUIT_STATES)
      state.set({ breaker, state: each }, each === current ? 1 : 0);
  };
  // Every series exists from the start, so dashboards and alerts see "closed", not "no data".
  show('closed');
  for (const each of CIRCUIT_STATES) transitions.inc({ breaker, state: each }, 0);
  rejected.inc({ breaker }, 0);

  return {
    entered(next: CircuitState) {
      show(next);
      transitions.inc({ breaker, state: next });
    },
    rejected() {
      rejected.inc({ breaker });
    },
  };
}
