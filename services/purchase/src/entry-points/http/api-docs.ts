import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/** Where the explorer is; the OpenAPI document is at `${API_DOCS_PATH}/json` (and `/yaml`). */
export const API_DOCS_PATH = '/docs';

/**
 * The explorer's pages are HTML, unlike every other answer: it loads its scripts, styles and
 * the document from this server and nowhere else (no inline script or style, no CDN), and may
 * not be framed. Every other answer keeps helmet's CSP that allows nothing (ADR 18).
 */
const EXPLORER_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; " +
  "frame-ancestors 'none'";

/**
 * The public API described where people look for it: the OpenAPI 3.1 document, generated
 * from the routes' schemas (request and response, schemas.ts and response-schemas.ts), and
 * an explorer for it (swagger-ui, its assets served from the package). Register it before the
 * routes: it collects them as they are added. Its own routes are outside the API's context,
 * so neither admission control nor the per-client limit counts them.
 */
export function registerApiDocs(app: FastifyInstance): void {
  // Both queued now, in order, like every other plugin: awaited, the second would be queued
  // after the routes and the start would hang.
  void app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Switchboard purchase API',
        description:
          'Purchases and stock. Every error is `{ error: { code, message, details? } }`, its ' +
          'status from the one error table of @switchboard/errors.',
        version: '1',
      },
    },
    transformObject: (document) =>
      'openapiObject' in document
        ? requiredHeadersLifted(document.openapiObject)
        : document.swaggerObject,
  });
  void app.register(swaggerUi, {
    routePrefix: API_DOCS_PATH,
    staticCSP: EXPLORER_CSP,
    // No online validator: swagger-ui would send it the document (the plugin's default too).
    validatorUrl: false,
  });
}

interface Header {
  required?: boolean;
  schema?: { required?: unknown };
}

/**
 * A response header's `required` is written in its schema (response-schemas.ts: the only
 * place Fastify's route schema has for it); OpenAPI wants it on the header itself.
 */
function requiredHeadersLifted<T extends object>(document: T): T {
  const paths = (document as { paths?: Record<string, Record<string, unknown>> }).paths ?? {};
  for (const operations of Object.values(paths))
    for (const operation of Object.values(operations)) {
      const responses = (operation as { responses?: Record<string, { headers?: object }> })
        .responses;
      for (const response of Object.values(responses ?? {}))
        for (const header of Object.values(response.headers ?? {}) as Header[]) {
          if (header.schema?.required !== true) continue;
          header.required = true;
          delete header.schema.required;
        }
    }
  return document;
}
