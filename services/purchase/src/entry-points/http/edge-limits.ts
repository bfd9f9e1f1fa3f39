import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import { AppError } from '@switchboard/errors';
import type { FastifyInstance } from 'fastify';
import type { ServerOptions } from 'node:http';

/** The public server's limits against slow and greedy clients (ADR 18; config.ts). */
export interface EdgeLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  connectionsCheckIntervalMs: number;
  maxHeaderSizeBytes: number;
  maxConnections: number;
  /** Requests per client IP per window; 0 for none. */
  rateLimitMax: number;
  rateLimitWindowMs: number;
}

/**
 * Options of Node's HTTP server. Node closes a socket whose headers or request are late only
 * when it checks, every connectionsCheckingInterval (30 s by default): a slowloris socket with
 * a 10 s timeout lived 22 to 27 s. Checked every second, it is closed within a second of it.
 */
export function edgeServerOptions(limits: EdgeLimits): {
  requestTimeout: number;
  http: ServerOptions;
} {
  return {
    // Fastify sets it on the server itself, after Node's checks of `http` below.
    requestTimeout: limits.requestTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: limits.connectionsCheckIntervalMs,
      // Beyond it the parser answers 431 (handleClientError gives it the { error } shape).
      maxHeaderSize: limits.maxHeaderSizeBytes,
    },
  };
}

/** Past this many open sockets, Node closes each new one as soon as it is accepted. */
export function limitConnections(app: FastifyInstance, limits: EdgeLimits): void {
  app.server.maxConnections = limits.maxConnections;
}

/**
 * Security headers for a JSON API: no sniffing, no framing, no referrer, HSTS, and a CSP that
 * allows nothing (no answer is a page). The HTML-only headers helmet adds would be noise.
 */
export async function addSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    },
    crossOriginEmbedderPolicy: false,
    crossOriginOpenerPolicy: false,
    originAgentCluster: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    referrerPolicy: { policy: 'no-referrer' },
  });
}

/**
 * The per-client limit: each IP gets rateLimitMax requests per window, the next are answered
 * 429 RATE_LIMITED with Retry-After (the window's rest) in the { error } shape. Registered
 * on the server; `limitPerClient` puts it on a context's routes, before admission control,
 * so a greedy client is refused before it takes a slot others could use.
 */
export async function registerRateLimit(app: FastifyInstance, limits: EdgeLimits): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    max: limits.rateLimitMax,
    timeWindow: limits.rateLimitWindowMs,
    // With Retry-After, the draft standard's RateLimit-* headers tell clients what is left.
    enableDraftSpec: true,
    errorResponseBuilder: (_request, context) =>
      new AppError(
        'RATE_LIMITED',
        `too many requests from this client: ${context.max} per ${context.after}; retry later`,
      ),
  });
}

export function limitPerClient(api: FastifyInstance, limits: EdgeLimits): void {
  if (limits.rateLimitMax === 0) return;
  api.addHook('onRequest', api.rateLimit());
}
