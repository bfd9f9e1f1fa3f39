import net from 'node:net';

/**
 * A TCP proxy on a free loopback port that forwards to `target` at once and delivers the
 * answers `replyDelayMs` late, in order: the peer does the work, the caller hears of it only
 * after its deadline. A real network fault, without touching the code on either side.
 */
export async function startDelayingProxy(
  target: { host: string; port: number },
  replyDelayMs: number,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk) => upstream.write(chunk));
    // Timers of the same delay fire in the order they were set: the bytes keep their order.
    upstream.on('data', (chunk) => {
      setTimeout(() => client.destroyed || client.write(chunk), replyDelayMs);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => setTimeout(() => client.end(), replyDelayMs));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
