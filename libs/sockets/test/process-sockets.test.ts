import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, createConnection, type Server, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compareSockets,
  createSocketReport,
  readProcessSockets,
  type SocketDeclaration,
} from '../src/index.js';

// Real sockets in this test process, then read back from its own /proc.
let tcpServer: Server;
let tcpPort: number;
let client: Socket;
let accepted: Socket;
let udp: UdpSocket;
let udpPort: number;
let unixServer: Server;
let directory: string;
let socketPath: string;

beforeAll(async () => {
  tcpServer = createServer();
  const acceptedOnce = new Promise<Socket>((resolve) => tcpServer.once('connection', resolve));
  await new Promise<void>((resolve) => tcpServer.listen(0, '127.0.0.1', resolve));
  tcpPort = (tcpServer.address() as { port: number }).port;
  client = createConnection(tcpPort, '127.0.0.1');
  await new Promise((resolve) => client.once('connect', resolve));
  accepted = await acceptedOnce;

  udp = createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  udpPort = udp.address().port;

  directory = await mkdtemp(join(tmpdir(), 'sockets-test-'));
  socketPath = join(directory, 'test.sock');
  unixServer = createServer();
  await new Promise<void>((resolve) => unixServer.listen(socketPath, resolve));
});

afterAll(async () => {
  client.destroy();
  accepted.destroy();
  udp.close();
  await new Promise((resolve) => tcpServer.close(resolve));
  await new Promise((resolve) => unixServer.close(resolve));
  await rm(directory, { recursive: true, force: true });
});

describe('readProcessSockets', () => {
  it('finds the TCP listener, both ends of a connection, a UDP socket and a UDS in /proc/self', async () => {
    const { own } = await readProcessSockets();
    const clientPort = client.localPort!;

    expect(own).toContainEqual(
      expect.objectContaining({
        protocol: 'tcp',
        state: 'LISTEN',
        listening: true,
        local: `127.0.0.1:${tcpPort}`,
      }),
    );
    expect(own).toContainEqual(
      expect.objectContaining({
        protocol: 'tcp',
        state: 'ESTABLISHED',
        local: `127.0.0.1:${clientPort}`,
        peer: `127.0.0.1:${tcpPort}`,
      }),
    );
    expect(own).toContainEqual(
      expect.objectContaining({
        protocol: 'tcp',
        state: 'ESTABLISHED',
        local: `127.0.0.1:${tcpPort}`,
        peer: `127.0.0.1:${clientPort}`,
      }),
    );
    expect(own).toContainEqual(
      expect.objectContaining({
        protocol: 'udp',
        state: 'UNCONNECTED',
        listening: true,
        local: `127.0.0.1:${udpPort}`,
      }),
    );
    expect(own).toContainEqual(
      expect.objectContaining({
        protocol: 'unix',
        state: 'LISTEN',
        listening: true,
        local: socketPath,
      }),
    );
  });

  it('keeps out the sockets of other processes', async () => {
    const { own } = await readProcessSockets();
    const self = await readProcessSockets(`/proc/${process.pid}`);
    // The same process read two ways; and nothing of pid 1 (init, systemd...) is ours.
    expect(new Set(self.own.map((socket) => socket.inode))).toEqual(
      new Set(own.map((socket) => socket.inode)),
    );
    expect(own.every((socket) => socket.inode > 0)).toBe(true);
  });
});

describe('compareSockets and createSocketReport', () => {
  const declaration = (): SocketDeclaration => ({
    service: 'test',
    listeners: [
      {
        name: 'api',
        protocol: 'tcp',
        host: '127.0.0.1',
        port: tcpPort,
        tls: true,
        public: true,
        clients: 'anyone',
      },
      {
        name: 'socket',
        protocol: 'unix',
        path: socketPath,
        tls: false,
        public: false,
        clients: 'the group',
        mode: 0o660,
      },
    ],
    peers: [],
  });

  it('names the declared listeners and the connections accepted on them, TLS as declared', async () => {
    const { sockets } = compareSockets(declaration(), await readProcessSockets());
    const ours = sockets.filter(
      (socket) => socket.localPort === tcpPort || socket.local === socketPath,
    );
    expect(ours.map((socket) => [socket.role, socket.declaredAs, socket.tls])).toEqual(
      expect.arrayContaining([
        ['listener', 'api', true],
        ['inbound', 'api', true],
        ['listener', 'socket', false],
      ]),
    );
  });

  it('reports the UDP socket, which nothing declares, as an undeclared listener', async () => {
    const { undeclaredListeners } = compareSockets(declaration(), await readProcessSockets());
    const undeclared = undeclaredListeners.map((socket) => socket.local);
    expect(undeclared).toContain(`127.0.0.1:${udpPort}`);
    expect(undeclared).not.toContain(`127.0.0.1:${tcpPort}`);
    expect(undeclared).not.toContain(socketPath);
  });

  it('names a declared UDP listener, and a connected UDP socket to a declared UDP peer', async () => {
    const withUdp = declaration();
    withUdp.listeners.push({
      name: 'ticks',
      protocol: 'udp',
      host: '127.0.0.1',
      port: udpPort,
      tls: false,
      public: false,
      clients: 'the sender',
    });
    withUdp.peers.push({
      name: 'subscriber',
      protocol: 'udp',
      host: '127.0.0.1',
      port: udpPort,
      tls: false,
    });
    const sender = createSocket('udp4');
    await new Promise<void>((resolve) => sender.connect(udpPort, '127.0.0.1', resolve));
    try {
      const { sockets, undeclaredListeners } = compareSockets(withUdp, await readProcessSockets());
      const udpSockets = sockets.filter((socket) => socket.protocol === 'udp');
      expect(udpSockets.map((socket) => [socket.role, socket.declaredAs])).toEqual(
        expect.arrayContaining([
          ['listener', 'ticks'],
          ['outbound', 'subscriber'],
        ]),
      );
      expect(undeclaredListeners.map((socket) => socket.local)).not.toContain(
        `127.0.0.1:${udpPort}`,
      );
    } finally {
      sender.close();
    }
  });

  it('reports a listener bound wider than declared as undeclared', async () => {
    const narrower = declaration();
    narrower.listeners[0]!.host = '127.0.0.2';
    const { undeclaredListeners } = compareSockets(narrower, await readProcessSockets());
    expect(undeclaredListeners.map((socket) => socket.local)).toContain(`127.0.0.1:${tcpPort}`);
  });

  it("gives a declared socket file's mode", async () => {
    const { chmod } = await import('node:fs/promises');
    await chmod(socketPath, 0o640);
    const report = await createSocketReport(declaration());
    expect(report.socketFiles).toEqual([{ path: socketPath, mode: '0640', expectedMode: '0660' }]);
    expect(report.pid).toBe(process.pid);
  });
});
