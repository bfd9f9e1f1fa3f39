import { runNodeIn, type ProjectContainer } from './docker.js';

/** What a probe of one listener found. */
export interface TlsProbe {
  host: string;
  port: number;
  tls: boolean;
  /** What proved it: the handshake's protocol, the server's alert, or the error. */
  evidence: string;
}

/**
 * Run inside a container of the project, on its network. First listens for a greeting: a
 * NATS server speaks first (INFO, with tls_required), and TLS begins after it. Otherwise it
 * sends a TLS ClientHello: a handshake, or an alert from the server (an mTLS server refusing
 * a client with no certificate), proves TLS; a plaintext server answers garbage or closes.
 * Postgres (before 17) starts TLS only after its own SSLRequest message: when the plain
 * ClientHello fails, the probe sends that and, on the answer 'S', the handshake over it.
 * No certificate is verified: the question is only whether the listener speaks TLS.
 */
export const TLS_PROBE_SCRIPT = `
const net = require('node:net');
const tls = require('node:tls');
const targets = JSON.parse(process.argv[1]);
function greeting({ host, port }) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let text = '';
    const done = () => { clearTimeout(timer); socket.destroy(); resolve(text); };
    const timer = setTimeout(done, 300);
    socket.on('data', (chunk) => { text += chunk; if (text.includes('\\n')) done(); });
    socket.on('error', done);
  });
}
function handshake({ host, port }, over) {
  return new Promise((resolve) => {
    const socket = tls.connect({ host, port, socket: over, rejectUnauthorized: false, ALPNProtocols: over ? undefined : ['h2', 'http/1.1'] });
    const timer = setTimeout(() => { socket.destroy(); resolve({ tls: false, evidence: 'no TLS answer within 2 s' }); }, 2000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const evidence = 'TLS handshake (' + socket.getProtocol() + ')';
      socket.destroy();
      resolve({ tls: true, evidence });
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      const alert = /alert/i.test(error.message);
      resolve({ tls: alert, evidence: alert ? 'TLS alert from the server: ' + error.message : 'no TLS: ' + (error.code || error.message) });
    });
  });
}
// Postgres's SSLRequest: length 8, code 80877103. The server answers one byte, S or N.
function postgresTls({ host, port }) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => { socket.destroy(); resolve(undefined); }, 1000);
    socket.once('connect', () => socket.write(Buffer.from([0, 0, 0, 8, 4, 210, 22, 47])));
    socket.once('data', async (answer) => {
      clearTimeout(timer);
      if (answer.length !== 1 || answer[0] !== 0x53) { socket.destroy(); resolve(undefined); return; }
      const result = await handshake({ host, port }, socket);
      resolve({ ...result, evidence: 'Postgres SSLRequest: S, then ' + result.evidence });
    });
    socket.once('error', () => { clearTimeout(timer); resolve(undefined); });
  });
}
(async () => {
  const results = [];
  for (const target of targets) {
    const hello = await greeting(target);
    if (hello.startsWith('INFO ')) {
      const info = JSON.parse(hello.slice(5));
      const required = info.tls_required === true;
      results.push({ ...target, tls: required, evidence: 'NATS INFO: tls_required ' + required });
    } else {
      const direct = await handshake(target);
      const viaPostgres = direct.tls ? undefined : await postgresTls(target);
      results.push({ ...target, ...(viaPostgres ?? direct) });
    }
  }
  process.stdout.write(JSON.stringify(results));
})();
`;

/** Probes each listener from inside `from`, one after the other. */
export async function probeTls(
  from: ProjectContainer,
  targets: { host: string; port: number }[],
): Promise<TlsProbe[]> {
  if (targets.length === 0) return [];
  return (await runNodeIn(from, TLS_PROBE_SCRIPT, targets)) as TlsProbe[];
}
