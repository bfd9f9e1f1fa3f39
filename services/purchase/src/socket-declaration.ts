import { databaseUrlUsesTls } from '@switchboard/postgres';
import { parseInventoryTarget } from '@switchboard/inventory-client';
import {
  dependencyPeers,
  opsListener,
  peerFromUrl,
  type DeclaredPeer,
  type SocketDeclaration,
} from '@switchboard/sockets';
import type { PurchaseConfig } from './config.js';

/** The ports bound (port 0 in the configuration picks one; known only once listening). */
export interface BoundPorts {
  httpPort: number;
  opsPort: number;
}

/**
 * Every socket purchase may have, from its configuration: served at GET /sockets beside the
 * actual ones, and checked by the socket audit (tools/socket-audit).
 */
export function purchaseSocketDeclaration(
  config: PurchaseConfig,
  ports: BoundPorts,
): SocketDeclaration {
  return {
    service: 'purchase',
    listeners: [
      {
        name: 'http',
        protocol: 'tcp',
        host: config.httpHost,
        port: ports.httpPort,
        // TLS ends at the load balancer in front; the one port published on the host.
        tls: false,
        public: true,
        clients: 'anyone (the public API)',
      },
      opsListener(config.opsHost, ports.opsPort),
      ...(config.stockTicksPort === 0
        ? []
        : [
            {
              name: 'stock-ticks',
              protocol: 'udp' as const,
              host: config.stockTicksHost,
              port: config.stockTicksPort,
              tls: false,
              public: false,
              clients: 'inventory (stock ticks, ADR 26)',
            },
          ]),
    ],
    peers: [
      ...dependencyPeers({
        databaseUrl: config.databaseUrl,
        databaseTls: databaseUrlUsesTls(config.databaseUrl),
        natsUrl: config.natsUrl,
        natsTlsFiles: config.natsTls,
      }),
      ...inventoryPeers(config),
      // inventory's ops port, for the live page's socket panel (its GET /sockets, ADR 21).
      peerFromUrl('inventory-ops', config.inventoryOpsUrl, {
        defaultPort: config.inventoryOpsUrl.startsWith('https:') ? 443 : 80,
        tls: config.inventoryOpsUrl.startsWith('https:'),
      }),
    ],
  };
}

/** inventory over gRPC/TCP (one peer per address), gRPC/UDS, or none of its own over NATS. */
function inventoryPeers(config: PurchaseConfig): DeclaredPeer[] {
  const target = parseInventoryTarget(config.inventoryTarget);
  if ('problem' in target) return [];
  if (target.transport === 'grpc-uds') {
    return [{ name: 'inventory', protocol: 'unix', path: target.socketPath, tls: false }];
  }
  if (target.transport === 'nats') return [];
  const tls = config.grpcTls !== undefined;
  // dns:///host:port or ipv4:a.b.c.d:port,...
  const addresses = target.target.replace(/^dns:\/\/\/|^ipv4:/, '').split(',');
  return addresses.map((address) => {
    const separator = address.lastIndexOf(':');
    return {
      name: 'inventory',
      protocol: 'tcp' as const,
      host: address.slice(0, separator),
      port: Number(address.slice(separator + 1)),
      tls,
    };
  });
}
