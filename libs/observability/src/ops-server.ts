import Fastify, { LogController } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

/** A readiness check names what it checks and throws when that is not usable. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

export interface OpsServer {
  /** Starts listening; returns the bound port (useful with port 0 in tests). */
  start(): Promise<number>;
  /** While not ready, /readyz answers 503 whatever the checks say (start-up, shutdown). */
  setReady(ready: boolean): void;
  stop(): Promise<void>;
}

/**
 * The ops port of a process: /livez (the process answers), /readyz (it can do its work:
 * ready flag plus every check), /metrics (Prometheus text from the process's registry).
 * It is separate from the public port so it is never exposed with it.
 */
export function createOpsServer(options: {
  host: string;
  port: number;
  registry: Registry;
  logger: Logger;
  checks?: ReadinessCheck[];
  checkTimeoutMs?: number;
}): OpsServer {
  const { registry, checks = [], checkTimeoutMs = 1000 } = options;
  let ready = false;
  const app = Fastify({
    loggerInstance: options.logger.child({ component: 'ops' }),
    logController: new LogController({ disableRequestLogging: true }),
  });

  app.get('/livez', (_request, reply) => reply.send({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const results = await Promise.all(
      checks.map(async ({ name, check }) => {
        try {
          await withTimeout(check(), checkTimeoutMs);
          return { name, ok: true };
        } catch (error) {
          return { name, ok: false, error: error instanceof Error ? error.message : String(error) };
        }
      }),
    );
    const ok = ready && results.every((result) => result.ok);
    return reply
      .code(ok ? 200 : 503)
      .send({ status: ok ? 'ready' : 'not ready', accepting: ready, checks: results });
  });

  app.get('/metrics', async (_request, reply) => {
    return reply.type(registry.contentType).send(await registry.metrics());
  });

  return {
    async start() {
      await app.listen({ host: options.host, port: options.port });
      const address = app.server.address();
      return typeof address === 'object' && address ? address.port : options.port;
    },
    setReady(value) {
      ready = value;
    },
    async stop() {
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
