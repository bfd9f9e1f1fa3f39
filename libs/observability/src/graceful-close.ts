import type { FastifyInstance } from 'fastify';

/**
 * Makes `app.close()` finish as soon as the requests in flight are answered. Node's
 * server.close() drops the keep-alive connections that are idle when it is called, but a
 * connection whose request is still running stays open after its answer, and close() then
 * waits for the client's keep-alive timeout (fastify#7044). So while closing, every answer
 * says `Connection: close`, and the client opens its next connection elsewhere.
 */
export function closeConnectionsWhenClosing(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });
}
