import { readFile } from 'node:fs/promises';

/** A listener whose links may be plaintext for now, and why. */
export interface AllowedPlaintext {
  /** service:port, as the audit's table names a listener. */
  listener: string;
  reason: string;
}

/** The allow-list shipped with the tool: plaintext-links.json beside dist/. */
export const DEFAULT_ALLOW_LIST = new URL('../plaintext-links.json', import.meta.url);

/** Reads and checks the allow-list file; a malformed one throws, naming the file and entry. */
export async function readAllowList(file: string | URL): Promise<AllowedPlaintext[]> {
  const parsed = JSON.parse(await readFile(file, 'utf8')) as { links?: unknown };
  if (!Array.isArray(parsed.links)) throw new Error(`${String(file)}: "links" must be a list`);
  return parsed.links.map((entry: unknown, index) => {
    const { listener, reason } = (entry ?? {}) as Record<string, unknown>;
    if (typeof listener !== 'string' || !/^[\w.-]+:\d+$/.test(listener)) {
      throw new Error(`${String(file)}: links[${index}].listener must be service:port`);
    }
    if (typeof reason !== 'string' || reason.trim() === '') {
      throw new Error(`${String(file)}: links[${index}].reason must say why it is allowed`);
    }
    return { listener, reason };
  });
}
