import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createSocketReport, type SocketDeclaration } from '@switchboard/sockets';
import { closeConnectionsWhenClosing } from './graceful-close.js';
import { createMetricsExposition } from './metrics-exposition.js';

/** A readiness check names what it checks and throws when that is not usable. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
  /**
   * Default true: failing makes the process not ready. False for a dependency the process
   * works through (say NATS behind an outbox): shown in /readyz, never taking it out.
   */
  critical?: boolean;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  error?: string;
  /** Present (false) only for a check that does not decide readiness. */
  critical?: false;
}

/** What /readyz answers: ready = accepting work and every check passed in time. */
export interface ReadinessReport {
  ready: boolean;
  accepting: boolean;
  checks: CheckResult[];
}

export interface OpsServer {
  /** Starts listening; returns the bound port (useful with port 0 in tests). */
  start(): Promise<number>;
  /** While not ready, /readyz answers 503 whatever the checks say (start-up, shutdown). */
  setReady(ready: boolean): void;
  /** Runs the checks now: the answer /readyz would give. */
  checkReadiness(): Promise<ReadinessReport>;
  /**
   * Tells `listener` the readiness whenever it changes, so other health endpoints (gRPC's
   * grpc.health.v1) say what /readyz says: at once when setReady changes it, and within
   * `intervalMs` when a check starts or stops failing (checked on that interval while started).
   */
  onReadinessChange(listener: (ready: boolean) => void, intervalMs?: number): void;
  stop(): Promise<void>;
}

/**
 * The ops port of a process: /livez (the process answers), /readyz (it can do its work:
 * ready flag plus every check), /metrics (the process's registry, in Prometheus text or OpenMetrics),
 * /sockets (the sockets the process declares beside those it holds, read from its /proc;
 * 404 without a declaration). It is separate from the public port so it is never exposed with it.
 */
export function createOpsServer(options: {
  host: string;
  port: number;
  registry: Registry;
  logger: Logger;
  checks?: ReadinessCheck[];
  checkTimeoutMs?: number;
  /** The sockets the process may have; a function, as ports bound later are known only then. */
  socketDeclaration?: () => SocketDeclaration;
}): OpsServer {
  const { registry, checks = [], checkTimeoutMs = 1000 } = options;
  let ready = false;
  let started = false;
  const listeners: ((ready: boolean) => void)[] = [];
  let reported: boolean | undefined;
  let pollMs = 1000;
  let poller: NodeJS.Timeout | undefined;

  async function checkReadiness(): Promise<ReadinessReport> {
    const results = await Promise.all(
      checks.map(async ({ name, check, critical = true }): Promise<CheckResult> => {
        const marker = critical ? {} : { critical: false as const };
        try {
          await withTimeout(check(), checkTimeoutMs);
          return { name, ok: true, ...marker };
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          return { name, ok: false, error: message, ...marker };
        }
      }),
    );
    // The flag is read after the checks, so a stop that began meanwhile is never missed.
    return {
      ready: ready && results.every((result) => result.ok || result.critical === false),
      accepting: ready,
      checks: results,
    };
  }

  function report(value: boolean) {
    if (value === reported) return;
    reported = value;
    for (const listener of listeners) listener(value);
  }

  async function recheck() {
    if (listeners.length > 0) report((await checkReadiness()).ready);
  }

  function poll() {
    if (!started || poller || listeners.length === 0) return;
    poller = setInterval(() => void recheck(), pollMs);
    poller.unref();
  }
  const app = Fastify({
    // Typed as Fastify's logger so the instance fits helpers that take a FastifyInstance.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: options.logger.child({ component: 'ops' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });

  // Prometheus scrapes over keep-alive connections; they must not hold the stop.
  closeConnectionsWhenClosing(app);

  app.get('/livez', (_request, reply) => reply.send({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const { ready: ok, accepting, checks: results } = await checkReadiness();
    return reply
      .code(ok ? 200 : 503)
      .send({ status: ok ? 'ready' : 'not ready', accepting, checks: results });
  });

  // OpenMetrics (with exemplars) when the scraper asks for it, Prometheus text otherwise.
  const exposition = createMetricsExposition(registry);
  app.get('/metrics', async (request, reply) => {
    const { contentType, body } = await exposition.render(request.headers.accept);
    return reply.type(contentType).send(body);
  });

  const { socketDeclaration } = options;
  if (socketDeclaration) {
    // For the socket audit (tools/socket-audit); read from /proc at each request.
    app.get('/sockets', async () => createSocketReport(socketDeclaration()));
  }

  return {
    async start() {
      await app.listen({ host: options.host, port: options.port });
      started = true;
      poll();
      const address = app.server.address();
      return typeof address === 'object' && address ? address.port : options.port;
    },
    setReady(value) {
      ready = value;
      // Not ready is known at once; ready still needs the checks to pass.
      if (!value) report(false);
      else void recheck();
    },
    checkReadiness,
    onReadinessChange(listener, intervalMs = 1000) {
      listeners.push(listener);
      pollMs = intervalMs;
      poll();
    },
    async stop() {
      started = false;
      clearInterval(poller);
      poller = undefined;
      await app.close();
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
