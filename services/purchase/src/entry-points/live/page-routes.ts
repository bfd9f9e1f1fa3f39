import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

/** services/purchase/public, from src/entry-points/live (tests) and dist/entry-points/live. */
const PUBLIC_DIR = new URL('../../../public/', import.meta.url);

/** The page's files by URL: a fixed list, so no request names a path on disk. */
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/live/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/live/feed-connection.js': {
    file: 'feed-connection.js',
    type: 'text/javascript; charset=utf-8',
  },
  '/live/views.js': { file: 'views.js', type: 'text/javascript; charset=utf-8' },
  '/live/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/**
 * The page's own CSP: its scripts, styles and WebSocket from this origin only, nothing inline,
 * no frames. The API keeps helmet's CSP that allows nothing (ADR 18).
 */
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * GET / and its scripts and style: the live page (ADR 21), plain ES modules served by purchase
 * itself, read once at start-up. No CDN, so it works offline.
 */
export function registerPageRoutes(app: FastifyInstance): void {
  for (const [path, { file, type }] of Object.entries(FILES)) {
    const body = readFileSync(new URL(file, PUBLIC_DIR));
    // Not part of the JSON API's OpenAPI document (/docs): a page and its files.
    app.get(path, { schema: { hide: true } }, async (_request, reply) =>
      reply
        .type(type)
        .header('content-security-policy', PAGE_CSP)
        .header('cache-control', 'no-cache')
        .send(body),
    );
  }
}
