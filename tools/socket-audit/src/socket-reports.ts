import type { SocketReport } from '@switchboard/sockets';
import { runNodeIn, type ProjectContainer } from './docker.js';

// Fetched from inside the container, where the ops port listens on loopback too.
const FETCH_SOCKETS = `
const { port } = JSON.parse(process.argv[1]);
fetch('http://127.0.0.1:' + port + '/sockets')
  .then((response) => {
    if (!response.ok) throw new Error('GET /sockets answered ' + response.status);
    return response.text();
  })
  .then((text) => process.stdout.write(text), (error) => {
    process.stderr.write(String(error));
    process.exit(1);
  });
`;

/** A Switchboard service: it has an ops port (OPS_PORT), and so a GET /sockets. */
export function isSwitchboardService(container: ProjectContainer): boolean {
  return container.env.OPS_PORT !== undefined;
}

/** The service's GET /sockets, or why there is none. */
export async function fetchSocketReport(
  container: ProjectContainer,
): Promise<SocketReport | { error: string }> {
  try {
    return (await runNodeIn(container, FETCH_SOCKETS, {
      port: Number(container.env.OPS_PORT),
    })) as SocketReport;
  } catch (error) {
    // What the script wrote on stderr says why (a refused connection, a 404); the message
    // of a failed execFile repeats the whole script first.
    const stderr = (error as { stderr?: string }).stderr?.trim();
    return { error: stderr || (error as Error).message.split('\n')[0] || 'failed' };
  }
}
