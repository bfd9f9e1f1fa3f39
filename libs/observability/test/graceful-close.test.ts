import { Agent, get } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { closeConnectionsWhenClosing } from '../src/index.js';

describe('closing an HTTP server with keep-alive clients', () => {
  it('answers the request in flight with Connection: close and closes right after it', async () => {
    const app = Fastify({ keepAliveTimeout: 60_000 });
    closeConnectionsWhenClosing(app);
    app.get('/slow', async () => {
      await sleep(300);
      return { ok: true };
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const agent = new Agent({ keepAlive: true });

    const answer = new Promise<{ status?: number; connection?: string }>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/slow', agent }, (response) => {
        response.resume();
        response.on('end', () =>
          resolve({ status: response.statusCode, connection: response.headers.connection }),
        );
      }).on('error', reject);
    });
    await sleep(100);
    const started = performance.now();
    await app.close();
    const closedAfterMs = performance.now() - started;

    expect(await answer).toEqual({ status: 200, connection: 'close' });
    agent.destroy();
    // Without it, close() waits for the 60 s keep-alive timeout of the client's connection.
    expect(closedAfterMs).toBeLessThan(10_000);
  });
});
