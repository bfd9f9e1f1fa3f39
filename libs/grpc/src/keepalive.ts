import type { ChannelOptions } from '@grpc/grpc-js';

/**
 * The keepalive pings a server accepts from its clients (gRFC A8): pings closer together than
 * `minPingIntervalMs`, or any ping on a connection without calls when `permitWithoutCalls` is
 * false, are "bad pings"; C-core, Go and Java servers and proxies such as Envoy answer a few of
 * them with GOAWAY ENHANCE_YOUR_CALM "too_many_pings" and drop the connection, calls and all.
 */
export interface KeepalivePolicy {
  minPingIntervalMs: number;
  permitWithoutCalls: boolean;
}

/**
 * The policy Switchboard's gRPC servers state. grpc-js servers (1.14) do not enforce a ping
 * policy themselves (docs/adr/0007-connection-management.md), so the agreement is checked where it can be: at the
 * client's start, against this policy, which is also what to configure on any enforcing
 * server or proxy put in front of them.
 */
export const SERVER_KEEPALIVE_POLICY: KeepalivePolicy = {
  minPingIntervalMs: 10_000,
  permitWithoutCalls: true,
};

/**
 * Says what is wrong when a client's keepalive would break the server's ping policy, so the
 * process refuses to start instead of losing connections under load a week later.
 */
export function keepaliveProblems(
  client: ChannelOptions,
  server: KeepalivePolicy,
  names: { clientTimeSetting?: string } = {},
): string[] {
  const time: unknown = client['grpc.keepalive_time_ms'];
  const withoutCalls = client['grpc.keepalive_permit_without_calls'] === 1;
  const setting = names.clientTimeSetting ?? 'grpc.keepalive_time_ms';
  const problems: string[] = [];
  if (typeof time !== 'number') return problems; // no keepalive pings at all
  if (time < server.minPingIntervalMs) {
    problems.push(
      `${setting} (${time}) must be at least the server's minimum ping interval ` +
        `(${server.minPingIntervalMs} ms), or the server answers "too_many_pings" and drops the connection`,
    );
  }
  if (withoutCalls && !server.permitWithoutCalls) {
    problems.push(
      'grpc.keepalive_permit_without_calls is on, but the server does not permit pings without ' +
        'calls: idle connections would be dropped for "too_many_pings"',
    );
  }
  return problems;
}
