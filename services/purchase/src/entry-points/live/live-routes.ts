import websocket from '@fastify/websocket';
import { AppError } from '@switchboard/errors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sendError } from '../http/error-replies.js';
import { limitPerClient, type EdgeLimits } from '../http/edge-limits.js';
import type { LiveFeed } from './live-feed.js';

/** The live feed's own limits (config.ts, ADR 21). */
export interface LiveLimits {
  maxClients: number;
  /** Origins besides purchase's own whose pages may connect (`https://host:port`). */
  allowedOrigins: string[];
  /** The largest message a client may send; the feed expects none, so it is small. */
  maxMessageBytes: number;
}

/** `?since=<seq>&epoch=<uuid>`: a client that reconnects says what it saw last. */
const liveQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    since: { type: 'string', pattern: '^(?:0|[1-9][0-9]{0,14})$' },
    epoch: { type: 'string', format: 'uuid' },
  },
} as const;

/**
 * GET /v1/live, the live feed over a WebSocket (ADR 21). The upgrade is behind the per-IP
 * rate limit like every API request, but not behind admission control: a connection held for
 * hours must not hold one of its request slots. It has its own limit, LIVE_MAX_CLIENTS.
 */
export function registerLiveRoutes(
  app: FastifyInstance,
  deps: { feed: LiveFeed; live: LiveLimits; edge: EdgeLimits },
): void {
  // Not awaited: Fastify loads both, in this order, when the server starts (an await between
  // them let the server start before the second was registered).
  void app.register(websocket, { options: { maxPayload: deps.live.maxMessageBytes } });
  void app.register((live, _options, done) => {
    limitPerClient(live, deps.edge);
    live.addHook('preValidation', async (request, reply) => {
      if (!originAllowed(request, deps.live.allowedOrigins)) {
        return sendError(
          reply,
          new AppError('PERMISSION_DENIED', 'the live feed accepts pages of its own origin only'),
        );
      }
      if (deps.feed.clientCount() >= deps.live.maxClients) {
        return sendError(
          reply,
          new AppError('OVERLOADED', 'the live feed has as many clients as it takes; retry later'),
        );
      }
    });
    live.get<{ Querystring: { since?: string; epoch?: string } }>(
      '/v1/live',
      // Hidden from the OpenAPI document (/docs): a WebSocket is not an HTTP operation it can
      // describe; its protocol is in the README and ADR 21.
      { websocket: true, schema: { querystring: liveQuerySchema, hide: true } },
      (socket, request) => {
        const { since, epoch } = request.query;
        // Clients send nothing; anything they do send is ignored (ws enforces maxPayload).
        deps.feed.attach(
          socket,
          since !== undefined && epoch !== undefined ? { since: Number(since), epoch } : undefined,
        );
      },
    );
    done();
  });
}

/**
 * Browsers send Origin with every WebSocket handshake, and do not apply the same-origin policy
 * to it: without this check any page could read the feed through its visitor's browser. A
 * client that is not a browser sends none and is let in (it could send any Origin anyway).
 */
function originAllowed(request: FastifyRequest, allowed: string[]): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (allowed.includes(origin)) return true;
  const host = request.headers.host;
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}
