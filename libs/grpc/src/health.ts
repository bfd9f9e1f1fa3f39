import { HealthImplementation, service as healthService } from 'grpc-health-check';
import type { UnaryMethodDefinition } from './types.js';

/** The overall status of a server is the service name "" (grpc.health.v1). */
const WHOLE_SERVER = '';

/**
 * grpc.health.v1, from grpc-health-check: what load balancers, Kubernetes gRPC probes and
 * grpc-health-probe ask. The server starts NOT_SERVING; the app turns it SERVING when it is
 * ready and NOT_SERVING again when its stop begins, as /readyz does.
 */
export function createHealth() {
  const implementation = new HealthImplementation({ [WHOLE_SERVER]: 'NOT_SERVING' });
  const services = new Set<string>([WHOLE_SERVER]);
  let serving = false;
  return {
    implementation,
    /** A service added to the server gets a status of its own, the same as the whole server's. */
    track(serviceName: string) {
      services.add(serviceName);
      implementation.setStatus(serviceName, serving ? 'SERVING' : 'NOT_SERVING');
    },
    setServing(value: boolean) {
      serving = value;
      for (const name of services)
        implementation.setStatus(name, value ? 'SERVING' : 'NOT_SERVING');
    },
  };
}

interface HealthCheckRequest {
  service: string;
}
interface HealthCheckResponse {
  status: string;
}

/** grpc.health.v1.Health/Check, typed for this lib's client. */
export const HEALTH_CHECK_METHOD = healthService.Check as unknown as UnaryMethodDefinition<
  HealthCheckRequest,
  HealthCheckResponse
>;
