import type { AdaptiveLimiter, RetryAfter } from '@switchboard/admission';
import { closeConnectionsWhenClosing, registerHttpMetrics } from '@switchboard/observability';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '@switchboard/observability';
import { PLAIN_TEXT_FORMAT, isPlainText } from '@switchboard/text';
import type { Registry } from 'prom-client';
import type { InventoryClient } from '../../domain/inventory-client.js';
import type { PurchaseService } from '../../domain/purchase-service.js';
import { admitRequests } from './admission.js';
import { registerApiDocs } from './api-docs.js';
import {
  addSecurityHeaders,
  edgeServerOptions,
  limitConnections,
  limitPerClient,
  registerRateLimit,
  type EdgeLimits,
} from './edge-limits.js';
import { REQUEST_ID_OPTIONS, propagateRequestIds } from './request-ids.js';
import { NO_EARLY_RETRY_HOLD, createEarlyRetryHold } from './early-retries.js';
import { handleClientError, handleError, handleFrameworkError } from './error-replies.js';
import { registerPurchaseRoutes } from './purchase-routes.js';
import { registerStockRoutes } from './stock-routes.js';
import type { LiveFeed } from '../live/live-feed.js';
import { registerLiveRoutes, type LiveLimits } from '../live/live-routes.js';
import { registerPageRoutes } from '../live/page-routes.js';

/** The public HTTP API. Limits protect it from slow or greedy clients. */
export function createHttpServer(deps: {
  logger: Logger;
  registry: Registry;
  purchases: PurchaseService;
  inventory: InventoryClient;
  /** Admission control of the API routes (ADR 11). */
  limiter: AdaptiveLimiter;
  /** The Retry-After of the limiter's refusals, grown with the crowd it turns away. */
  retryAfter: RetryAfter;
  /** Whether a request back on a refused connection before its Retry-After is held. */
  earlyRetries: 'hold' | 'serve';
  requestTimeoutMs: number;
  /** Longer than the load balancer's idle timeout (checked in config.ts). */
  keepAliveTimeoutMs: number;
  /** Timeouts and limits against slow and greedy clients (edge-limits.ts, ADR 18). */
  edge: EdgeLimits;
  /** The live feed (GET /v1/live) and its limits; the page (GET /) goes with it (ADR 21). */
  feed: LiveFeed;
  live: LiveLimits;
}): FastifyInstance {
  const app = Fastify({
    // Typed as Fastify's logger so the instance type matches plugins' FastifyInstance.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: deps.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // One log line per request is what the metrics are for; logs keep the exceptions.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    // A client gets HTTP_HEADERS_TIMEOUT_MS for its headers and HTTP_REQUEST_TIMEOUT_MS for its
    // whole request, checked every second; a slow one cannot hold a socket.
    ...edgeServerOptions(deps.edge),
    // A socket silent this long is closed (Node's own timer, exact).
    connectionTimeout: 15_000,
    ...REQUEST_ID_OPTIONS,
    // Longer than the load balancer's idle timeout, so the balancer closes first and never
    // sends a request down a socket we are closing.
    keepAliveTimeout: deps.keepAliveTimeoutMs,
    // While closing, new requests get 503 and idle keep-alive sockets are closed.
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Requests the HTTP parser refuses are answered in the documented { error } shape too.
    clientErrorHandler: handleClientError,
    // So do requests the router refuses (a URL that is not UTF-8, a too long parameter).
    frameworkErrors: handleFrameworkError,
    ajv: {
      customOptions: {
        allErrors: true, // list every problem, not the first
        removeAdditional: false, // an unknown field is an error, not silently dropped
        // A value of the wrong type is an error, not silently converted: with Fastify's
        // default ('array'), `"customerId": false` was stored as the string "false".
        coerceTypes: false,
        formats: { [PLAIN_TEXT_FORMAT]: isPlainText },
      },
    },
  });
  limitConnections(app, deps.edge);
  registerHttpMetrics(app, deps.registry);
  propagateRequestIds(app);
  void addSecurityHeaders(app);
  void registerRateLimit(app, deps.edge);
  // Keep-alive clients whose request is in flight at the stop get `Connection: close` with
  // their answer, so the stop does not wait for their keep-alive timeout.
  closeConnectionsWhenClosing(app);
  app.setErrorHandler(handleError);
  // GET /docs: the OpenAPI document of the routes below and its explorer. Before the routes:
  // it collects them as they are added.
  registerApiDocs(app);
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url}` } }),
  );
  // The API routes, in a context of their own behind admission control; a 404 does no work,
  // and the ops port (/livez, /readyz, /metrics) is another server, so neither is limited.
  void app.register((api, _options, done) => {
    // A client over its share is refused first, before it takes a slot of admission control.
    limitPerClient(api, deps.edge);
    admitRequests(api, {
      limiter: deps.limiter,
      retryAfter: deps.retryAfter,
      requestTimeoutMs: deps.requestTimeoutMs,
      earlyRetries: deps.earlyRetries === 'hold' ? createEarlyRetryHold() : NO_EARLY_RETRY_HOLD,
    });
    registerPurchaseRoutes(api, deps);
    registerStockRoutes(api, deps);
    done();
  });
  // The live feed and its page: rate-limited per IP, but outside admission control (ADR 21).
  registerLiveRoutes(app, deps);
  void app.register((pages, _options, done) => {
    limitPerClient(pages, deps.edge);
    registerPageRoutes(pages);
    done();
  });
  return app;
}
