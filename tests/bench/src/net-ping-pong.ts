import { connect, type Socket } from 'node:net';

/**
 * A raw `net` client for the echo server: `concurrency` connections, each used by one caller
 * at a time, so a call is one write and one read of the same 16 bytes: the floor below any
 * protocol on that socket type.
 */
export async function netPingPong(
  address: { port: number } | { path: string },
  connections: number,
): Promise<{ call: () => Promise<void>; close: () => void }> {
  const FRAME = Buffer.alloc(16, 1);
  const idle: Socket[] = [];
  for (let i = 0; i < connections; i += 1) {
    const socket = connect({ ...address, host: '127.0.0.1' } as never);
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve).once('error', reject);
    });
    idle.push(socket);
  }
  const all = [...idle];
  return {
    async call() {
      const socket = idle.pop();
      if (!socket) throw new Error('more callers than connections');
      await new Promise<void>((resolve) => {
        let received = 0;
        const onData = (chunk: Buffer) => {
          received += chunk.length;
          if (received >= FRAME.length) {
            socket.off('data', onData);
            resolve();
          }
        };
        socket.on('data', onData);
        socket.write(FRAME);
      });
      idle.push(socket);
    },
    close: () => all.forEach((socket) => socket.destroy()),
  };
}
