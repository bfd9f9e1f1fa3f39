import { databaseUrlUsesTls } from '@switchboard/postgres';
import { dependencyPeers, opsListener, type SocketDeclaration } from '@switchboard/sockets';
import type { InventoryConfig } from './config.js';

/** The ports bound (port 0 in the configuration picks one; known only once listening). */
export interface BoundPorts {
  grpcPort: number;
  opsPort: number;
}

/**
 * Every socket inventory may have, from its configuration: served at GET /sockets beside the
 * actual ones, and checked by the socket audit (tools/socket-audit).
 */
export function inventorySocketDeclaration(
  config: InventoryConfig,
  ports: BoundPorts,
): SocketDeclaration {
  const tls = config.grpcTls !== undefined;
  return {
    service: 'inventory',
    listeners: [
      {
        name: 'grpc',
        protocol: 'tcp',
        host: config.grpcHost,
        port: ports.grpcPort,
        tls,
        public: false,
        clients: tls ? 'purchase, with a certificate from the CA (mTLS)' : 'anyone on the network',
      },
      ...(config.grpcSocketPath === ''
        ? []
        : [
            {
              name: 'grpc-socket',
              protocol: 'unix' as const,
              path: config.grpcSocketPath,
              // Plaintext: the file mode is the protection (ADR 15).
              tls: false,
              public: false,
              clients: "processes of the socket file's owner or group (purchase, on the volume)",
              mode: 0o660,
            },
          ]),
      opsListener(config.opsHost, ports.opsPort),
    ],
    peers: [
      ...dependencyPeers({
        databaseUrl: config.databaseUrl,
        databaseTls: databaseUrlUsesTls(config.databaseUrl),
        natsUrl: config.natsUrl,
        natsTlsFiles: config.natsTls,
      }),
      // One connected UDP socket per subscriber of the stock ticks (ADR 26).
      ...config.stockTicksTargets.map((target) => ({
        name: 'stock-ticks',
        protocol: 'udp' as const,
        host: target.host,
        port: target.port,
        tls: false,
      })),
    ],
  };
}
