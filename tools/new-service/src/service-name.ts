/** The one name a new service is given, in each spelling the files it touches need. */
export interface ServiceName {
  /** kebab-case, as typed: the folder, the package, compose, Kubernetes, the DNS name. */
  name: string;
  /** snake_case: the proto package and its folder (a proto package has no hyphens). */
  snake: string;
  /** PascalCase: types and the gRPC service (`OrderHistoryService`). */
  Pascal: string;
  /** camelCase: functions and the contracts' namespace (`orderHistoryV1`). */
  camel: string;
}

// A DNS label (compose and Kubernetes name the service by it, and it is the certificate's
// SAN) that is also a proto package component once hyphens become underscores.
const NAME_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const MAX_LENGTH = 40;

/** Names compose or the repository already use for something that is not a service. */
const RESERVED = new Set([
  'postgres',
  'nats',
  'prometheus',
  'grafana',
  'jaeger',
  'dev-certs',
  'dead-letters',
  'socket-audit',
]);

/** The name's spellings, or why it cannot be a service's name. */
export function parseServiceName(raw: string): ServiceName | { problem: string } {
  if (!NAME_PATTERN.test(raw) || raw.length > MAX_LENGTH) {
    return {
      problem: `"${raw}" is not a service name: lowercase letters, digits and single hyphens, starting with a letter, at most ${MAX_LENGTH} characters (e.g. "shipping" or "order-history")`,
    };
  }
  if (RESERVED.has(raw)) return { problem: `"${raw}" is taken by a container or tool of its own` };
  const words = raw.split('-');
  const capitalised = words.map((word) => word[0]!.toUpperCase() + word.slice(1));
  return {
    name: raw,
    snake: words.join('_'),
    Pascal: capitalised.join(''),
    camel: words[0]! + capitalised.slice(1).join(''),
  };
}
