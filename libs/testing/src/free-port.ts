import { createServer, type AddressInfo } from 'node:net';

/**
 * A port nothing listens on right now, picked by the kernel.
 *
 * Use it only when the port must be known before anything binds it: a container's fixed host
 * port that survives a restart, or a peer that comes up at an address a client already dials.
 * The port is free when we look, not when the test binds it: another process may take it in
 * between (EADDRINUSE). Wherever the code under test can bind port 0 and report the port it
 * got, let it do that instead (see `startServiceProcess`).
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
