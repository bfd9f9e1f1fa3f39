import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/** A TCP proxy on loopback that counts the connections it accepts and those still open. */
export interface CountingProxy {
  /** The proxy's port: connect here instead of to the target. */
  port: number;
  /** Connections accepted since the start. */
  accepted(): number;
  /** Connections open now. */
  open(): number;
  close(): Promise<void>;
}

/**
 * Counts TCP connections where a server sees them, for tests and demos of what a client does
 * with its sockets: whether many calls share one connection, whether a client closes its own.
 */
export async function startCountingProxy(targetPort: number): Promise<CountingProxy> {
  const open = new Set<Socket>();
  let accepted = 0;
  const proxy = createServer((client) => {
    accepted += 1;
    open.add(client);
    const upstream = connect(targetPort, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    const close = () => {
      open.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    port: (proxy.address() as AddressInfo).port,
    accepted: () => accepted,
    open: () => open.size,
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    },
  };
}
