import { Counter, Histogram, type Registry } from 'prom-client';

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
    new Histogram({
      name: secondsName,
      help: `Duration of RPCs on the ${side}, by service, method and status code.`,
      labelNames: LABELS,
      buckets: DURATION_BUCKETS,
      registers: [registry],
    });
  return {
    observe(path: string, code: string, startedAt: number) {
      const [service = '', method = ''] = path.slice(1).split('/');
      const labels = { grpc_service: service, grpc_method: method, grpc_code: code };
      handled.inc(labels);
      seconds.observe(labels, (performance.now() - startedAt) / 1000);
    },
  };
}
