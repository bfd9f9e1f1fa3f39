import { connectivityState } from '@grpc/grpc-js';
import { createExemplarHistogram } from '@switchboard/observability';
import { Counter, Gauge, type Histogram, type Registry } from 'prom-client';

const DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];
const LABELS = ['grpc_service', 'grpc_method', 'grpc_code'] as const;

/** The metric names of go-grpc-prometheus, so existing dashboards and alerts apply. */
export function grpcMetrics(registry: Registry, side: 'server' | 'client') {
  const handledName = `grpc_${side}_handled_total`;
  const secondsName = `grpc_${side}_handling_seconds`;
  // One set per registry, however many servers or clients the process builds on it.
  const handled =
    (registry.getSingleMetric(handledName) as Counter<(typeof LABELS)[number]> | undefined) ??
    new Counter({
      name: handledName,
      help: `RPCs completed on the ${side}, by service, method and status code.`,
      labelNames: LABELS,
      registers: [registry],
    });
  const seconds =
    (registry.getSingleMetric(secondsName) as Histogram<(typeof LABELS)[number]> | undefined) ??
    // A call made in a sampled trace keeps its trace id as the bucket's exemplar (ADR 17).
    createExemplarHistogram(registry, {
      name: secondsName,
      help: `Duration of RPCs on the ${side}, by service, method and status code.`,
      labelNames: LABELS,
      buckets: DURATION_BUCKETS,
    });
  // The labelled children per (path, code), made once: a call then records without parsing
  // its path or hashing its labels again (this is on every call's hot path).
  const children = new Map<
    string,
    {
      count: () => void;
      time: (seconds: number, exemplar: Record<string, string> | undefined) => void;
    }
  >();
  function childrenOf(path: string, code: string) {
    const key = `${path} ${code}`;
    let child = children.get(key);
    if (!child) {
      const [service = '', method = ''] = path.slice(1).split('/');
      const labels = { grpc_service: service, grpc_method: method, grpc_code: code };
      const counter = handled.labels(labels);
      const histogram = seconds.labels(labels);
      child = {
        count: () => counter.inc(),
        // The labelled child keeps no exemplar: a sampled call takes the histogram's own path.
        time: (value, exemplar) =>
          exemplar
            ? seconds.observe({ labels, value, exemplarLabels: exemplar })
            : histogram.observe(value),
      };
      children.set(key, child);
    }
    return child;
  }
  return {
    /** `exemplar`: traceExemplar() read where the call's span was current; none when off. */
    observe(path: string, code: string, startedAt: number, exemplar?: Record<string, string>) {
      const child = childrenOf(path, code);
      child.count();
      child.time((performance.now() - startedAt) / 1000, exemplar);
    },
  };
}

/** grpc-js's connectivity states by name: IDLE, CONNECTING, READY, TRANSIENT_FAILURE, SHUTDOWN. */
export const CHANNEL_STATES = [
  'IDLE',
  'CONNECTING',
  'READY',
  'TRANSIENT_FAILURE',
  'SHUTDOWN',
] as const;
export type ChannelState = (typeof CHANNEL_STATES)[number];

export function channelStateName(state: connectivityState): ChannelState {
  return connectivityState[state] as ChannelState;
}

/**
 * The state of a client channel as a state set (1 for the state it is in), and a counter of
 * the states it entered: a channel that keeps cycling through CONNECTING is a peer that keeps
 * dropping its connections.
 */
export function channelMetrics(registry: Registry, peer: string) {
  const stateName = 'grpc_client_channel_state';
  const changesName = 'grpc_client_channel_state_changes_total';
  const state =
    (registry.getSingleMetric(stateName) as Gauge<'grpc_peer' | 'state'> | undefined) ??
    new Gauge({
      name: stateName,
      help: 'Connectivity state of a client channel: 1 for the state it is in, 0 for the others.',
      labelNames: ['grpc_peer', 'state'] as const,
      registers: [registry],
    });
  const changes =
    (registry.getSingleMetric(changesName) as Counter<'grpc_peer' | 'state'> | undefined) ??
    new Counter({
      name: changesName,
      help: 'Times a client channel entered a connectivity state.',
      labelNames: ['grpc_peer', 'state'] as const,
      registers: [registry],
    });
  for (const each of CHANNEL_STATES) changes.inc({ grpc_peer: peer, state: each }, 0);
  return {
    entered(next: ChannelState) {
      for (const each of CHANNEL_STATES)
        state.set({ grpc_peer: peer, state: each }, each === next ? 1 : 0);
      changes.inc({ grpc_peer: peer, state: next });
    },
  };
}

/** grpc_server_open_streams: server streams (watches) open now, per method. */
export function openStreamsGauge(registry: Registry): Gauge<'grpc_method'> {
  const name = 'grpc_server_open_streams';
  return (
    (registry.getSingleMetric(name) as Gauge<'grpc_method'> | undefined) ??
    new Gauge({
      name,
      help: 'Server-streaming calls open now, per method; back to 0 once their callers cancel.',
      labelNames: ['grpc_method'] as const,
      registers: [registry],
    })
  );
}
