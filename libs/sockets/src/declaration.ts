// What a service says it may have: the sockets it listens on and the peers it connects to.
// Each service builds its own from its configuration (src/socket-declaration.ts).

/** A socket the service listens on. */
export interface DeclaredListener {
  /** What it serves, e.g. "http", "ops", "grpc". */
  name: string;
  protocol: 'tcp' | 'udp' | 'unix';
  /** TCP and UDP: the address bound (0.0.0.0 or :: for every interface) and the port. */
  host?: string;
  port?: number;
  /** unix: the socket file. */
  path?: string;
  /** Speaks TLS from the first byte. */
  tls: boolean;
  /** May be published on the host (only the public port is). */
  public: boolean;
  /** Who may connect, in words: "anyone", "purchase (client certificate)", "Prometheus"... */
  clients: string;
  /** unix: the file mode it must have, e.g. 0o660. */
  mode?: number;
}

/** A service the process connects to. */
export interface DeclaredPeer {
  name: string;
  /** udp: a connected UDP socket (a datagram sender's, one per subscriber). */
  protocol: 'tcp' | 'udp' | 'unix';
  /** TCP and UDP: host and port as configured (a name, resolved by DNS). */
  host?: string;
  port?: number;
  path?: string;
  /** The process speaks TLS to it. */
  tls: boolean;
}

export interface SocketDeclaration {
  service: string;
  listeners: DeclaredListener[];
  peers: DeclaredPeer[];
}

/** A TCP peer from its URL (postgres://, nats://...): the host and the port, or the default. */
export function peerFromUrl(
  name: string,
  url: string,
  options: { defaultPort: number; tls: boolean },
): DeclaredPeer {
  const parsed = new URL(url);
  return {
    name,
    protocol: 'tcp',
    host: parsed.hostname,
    port: parsed.port === '' ? options.defaultPort : Number(parsed.port),
    tls: options.tls,
  };
}

/** The ops listener (/metrics, /readyz, /sockets) every service has, never published. */
export function opsListener(host: string, port: number): DeclaredListener {
  return {
    name: 'ops',
    protocol: 'tcp',
    host,
    port,
    tls: false,
    public: false,
    clients: 'Prometheus, the healthcheck and the socket audit',
  };
}

/**
 * The peers every service has: its database and NATS, each TLS or not as the service's
 * settings say (the URL's sslmode; NATS_TLS_* or a tls:// URL).
 */
export function dependencyPeers(dependencies: {
  databaseUrl: string;
  databaseTls: boolean;
  natsUrl: string;
  natsTlsFiles: unknown;
}): DeclaredPeer[] {
  const { databaseUrl, natsUrl } = dependencies;
  return [
    peerFromUrl('postgres', databaseUrl, { defaultPort: 5432, tls: dependencies.databaseTls }),
    peerFromUrl('nats', natsUrl, {
      defaultPort: 4222,
      tls: dependencies.natsTlsFiles !== undefined || natsUrl.startsWith('tls://'),
    }),
  ];
}
