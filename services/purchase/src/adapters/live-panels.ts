import type { Logger } from '@switchboard/observability';
import type { Registry } from 'prom-client';

/** One link of the topology: purchase to inventory (or to JetStream) over one transport. */
export interface LinkRate {
  link: string;
  transport: string;
  /** Whether the link is in use by this purchase (INVENTORY_TARGET picks one transport). */
  inUse: boolean;
  tls: boolean;
  callsPerSecond: number;
  /** The bucket bound under which 99 % of the interval's calls ended, in ms; null if none. */
  p99Ms: number | null;
}

export interface LinkSource {
  link: string;
  transport: string;
  inUse: boolean;
  tls: boolean;
  /** A histogram of call durations in seconds, or a counter of calls. */
  metric: string;
}

/**
 * Rates and p99 of each link from purchase's own client metrics (grpc_client_handling_seconds,
 * nats_request_duration_seconds, outbox_published_total), as the change since the last read.
 */
export function createLinkRates(registry: Registry, sources: LinkSource[]) {
  let last = new Map<string, { at: number; count: number; buckets: Map<number, number> }>();
  return async function read(): Promise<LinkRate[]> {
    const now = Date.now();
    const next = new Map<string, { at: number; count: number; buckets: Map<number, number> }>();
    const rates: LinkRate[] = [];
    for (const source of sources) {
      const current = { at: now, ...(await totals(registry, source.metric)) };
      next.set(source.metric, current);
      const before = last.get(source.metric);
      const seconds = before ? (now - before.at) / 1000 : 0;
      const calls = before ? current.count - before.count : 0;
      rates.push({
        link: source.link,
        transport: source.transport,
        inUse: source.inUse,
        tls: source.tls,
        callsPerSecond: seconds > 0 ? Math.round((calls / seconds) * 10) / 10 : 0,
        p99Ms: before && calls > 0 ? p99Of(current.buckets, before.buckets, calls) : null,
      });
    }
    last = next;
    return rates;
  };
}

/** A metric's count and cumulative buckets (le in seconds), summed over its labels. */
async function totals(registry: Registry, name: string) {
  const buckets = new Map<number, number>();
  let count = 0;
  const metric = registry.getSingleMetric(name);
  if (!metric) return { count, buckets };
  const { values } = await metric.get();
  for (const value of values) {
    const metricName = (value as { metricName?: string }).metricName ?? name;
    if (metricName === `${name}_count` || metricName === name) count += value.value;
    if (metricName === `${name}_bucket`) {
      const le = Number(value.labels.le);
      buckets.set(le, (buckets.get(le) ?? 0) + value.value);
    }
  }
  return { count, buckets };
}

function p99Of(now: Map<number, number>, before: Map<number, number>, calls: number) {
  if (now.size === 0) return null;
  const bounds = [...now.keys()].sort((a, b) => a - b);
  for (const le of bounds) {
    const within = (now.get(le) ?? 0) - (before.get(le) ?? 0);
    if (within >= calls * 0.99) return Number.isFinite(le) ? le * 1000 : null;
  }
  return null;
}

/**
 * Each service's sockets as its ops port's GET /sockets reports them (ADR 16): purchase's own
 * read in-process, inventory's over the network (INVENTORY_OPS_URL). A peer that does not
 * answer shows why.
 */
export function createSocketsReader(deps: {
  own: { name: string; read: () => Promise<unknown> };
  peers: { name: string; url: string }[];
  timeoutMs: number;
  logger: Logger;
}) {
  return async function read(): Promise<Record<string, unknown>> {
    const own = [deps.own.name, summarizeSockets(await deps.own.read())] as const;
    const entries = await Promise.all(
      deps.peers.map(async ({ name, url }) => {
        try {
          const response = await fetch(new URL('/sockets', url), {
            signal: AbortSignal.timeout(deps.timeoutMs),
          });
          if (!response.ok) return [name, { error: `HTTP ${response.status}` }] as const;
          return [name, summarizeSockets(await response.json())] as const;
        } catch (error) {
          deps.logger.debug({ err: error, service: name }, 'GET /sockets failed');
          return [name, { error: error instanceof Error ? error.message : String(error) }] as const;
        }
      }),
    );
    return Object.fromEntries([own, ...entries]);
  };
}

/** A socket as GET /sockets lists it (ClassifiedSocket of @switchboard/sockets). */
interface ReportedSocket {
  role: string;
  protocol: string;
  state: string;
  local: string;
  declaredAs?: string;
  tls?: boolean;
}

/**
 * A report made small enough to send to every client every few seconds: the listeners one by
 * one, the connections counted by role, peer, protocol, state and TLS. With a thousand live
 * clients the full list would be a thousand lines, sent a thousand times.
 */
export function summarizeSockets(report: unknown): Record<string, unknown> {
  const sockets = (report as { sockets?: ReportedSocket[] }).sockets;
  if (!Array.isArray(sockets)) return { error: 'no socket list in the answer' };
  const listening = sockets
    .filter((socket) => socket.role === 'listener')
    .map(({ protocol, local, declaredAs, tls }) => ({ protocol, local, declaredAs, tls }));
  const groups = new Map<
    string,
    { role: string; peer: string; protocol: string; state: string; tls: boolean; count: number }
  >();
  for (const socket of sockets) {
    if (socket.role === 'listener') continue;
    const group = {
      role: socket.role,
      peer: socket.declaredAs ?? '(undeclared)',
      protocol: socket.protocol,
      state: socket.state,
      tls: socket.tls === true,
    };
    const key = JSON.stringify(group);
    const existing = groups.get(key);
    if (existing) existing.count += 1;
    else groups.set(key, { ...group, count: 1 });
  }
  return { listening, connections: [...groups.values()] };
}
