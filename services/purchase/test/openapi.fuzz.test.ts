import { randomUUID } from 'node:crypto';
import { compileErrors, dereference, validate } from '@readme/openapi-parser';
import type { StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import {
  createDatabase,
  databaseUrlInNetwork,
  fuzz,
  hostileJson,
  hostileString,
  startInventory,
  startNats,
  startPostgres,
  type StartedNats,
} from '@switchboard/testing';
import { PLAIN_TEXT_FORMAT, isPlainText } from '@switchboard/text';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { Network, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PurchaseApp } from '../src/app.js';
import { send, startPurchase } from './purchase-app.js';
import { rawRequest, type RawAnswer } from './raw-http.js';

// The OpenAPI document at /docs is the contract, and this checks purchase keeps it: the
// document is valid OpenAPI 3.1, and every operation it lists, driven with inputs generated
// from its own parameters and body schemas (valid ones and hostile ones, schemathesis-style),
// answers only statuses it documents for that operation, with bodies and headers that match.
// purchase runs in-process on real HTTP, inventory is the real container, on a real Postgres
// and NATS, as in the other component tests.
let network: StartedNetwork;
let postgres: StartedPostgreSqlContainer;
let nats: StartedNats;
let inventory: StartedTestContainer;
let purchase: { app: PurchaseApp; baseUrl: string; opsUrl: string };
let port: number;

const PLENTY = ['sku-plenty-a', 'sku-plenty-b'];
/** One unit only: the second purchase of it is short (409 INSUFFICIENT_STOCK). */
const SCARCE = 'sku-scarce';
const SKUS = [...PLENTY, SCARCE];
/** The orders the run's 201s made, so that reading one back is generated too. */
const createdOrderIds: string[] = [];

beforeAll(async () => {
  network = await new Network().start();
  [postgres, nats] = await Promise.all([startPostgres({ network }), startNats({ network })]);
  const purchaseDb = await createDatabase(postgres, 'purchase');
  await createDatabase(postgres, 'inventory');
  const started = await startInventory({
    network,
    databaseUrl: databaseUrlInNetwork('inventory'),
    natsUrl: nats.urlInNetwork,
    products: [
      ...PLENTY.map((sku) => ({ sku, name: `Product ${sku}`, onHand: 2_000_000_000 })),
      { sku: SCARCE, name: 'Scarce', onHand: 1 },
    ],
  });
  inventory = started;
  purchase = await startPurchase({
    DATABASE_URL: purchaseDb,
    INVENTORY_TARGET: started.grpcTarget,
    NATS_URL: nats.url,
  });
  port = Number(new URL(purchase.baseUrl).port);
}, 600_000);

afterAll(async () => {
  await purchase?.app.stop();
  await inventory?.stop();
  await Promise.all([postgres?.stop(), nats?.stop()]);
  await network?.stop();
}, 120_000);

// The parts of an OpenAPI 3.1 document this test reads (after dereference: no $ref left).
interface JsonSchema {
  type?: string;
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
}
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: JsonSchema;
}
interface Response {
  headers?: Record<string, { required?: boolean; schema: JsonSchema }>;
  content?: Record<string, { schema: JsonSchema }>;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, Response>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
}

async function fetchDocument(): Promise<Document> {
  const reply = await send(`${purchase.baseUrl}/docs/json`);
  expect(reply.status).toBe(200);
  return reply.body as Document;
}

describe('the OpenAPI document at /docs/json', () => {
  it('is valid OpenAPI 3.1 and describes every API route, each with its error statuses', async () => {
    const document = await fetchDocument();
    expect(document.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(document) as never);
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);

    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual([
      'GET /v1/purchases/{id}',
      'GET /v1/stock',
      'GET /v1/stock/{sku}',
      'POST /v1/purchases',
    ]);
    for (const methods of Object.values(document.paths))
      for (const operation of Object.values(methods)) {
        // What any route can answer, whatever it does (response-schemas.ts).
        for (const status of ['400', '408', '429', '431', '503', '504'])
          expect(Object.keys(operation.responses)).toContain(status);
        expect(operation.responses['503']?.headers?.['retry-after']?.required).toBe(true);
      }
  });
});

describe('the explorer at /docs', () => {
  it('is served with its assets from purchase itself, under a CSP that allows only them', async () => {
    const page = await fetch(`${purchase.baseUrl}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).not.toMatch(/https?:|unsafe-inline|unsafe-eval/);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(assets.length).toBeGreaterThan(3);
    for (const asset of assets) {
      // Nothing from another origin: the page works offline.
      expect(asset).not.toMatch(/^(?:[a-z]+:)?\/\//i);
      const loaded = await fetch(new URL(asset, `${purchase.baseUrl}/docs`));
      expect(loaded.status, asset).toBe(200);
    }
    const initializer = await (
      await fetch(`${purchase.baseUrl}/docs/static/swagger-initializer.js`)
    ).text();
    expect(initializer).toContain('validatorUrl: null');
  });

  it("leaves the API's own answers the CSP that allows nothing (ADR 18)", async () => {
    const reply = await send(`${purchase.baseUrl}/v1/stock/${PLENTY[0]}`);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-security-policy')).toBe(
      "default-src 'none';frame-ancestors 'none'",
    );
  });
});

/**
 * A value for `schema`, drawn from the schema itself: what a well-behaved client would send,
 * with known values for the names that must exist to get past a 404 (SKUs).
 */
function fromSchema(schema: JsonSchema, name = ''): fc.Arbitrary<unknown> {
  if (name === 'sku') return fc.constantFrom(...SKUS);
  // An order made earlier in the run, or an id that is none.
  if (name === 'id')
    return fc.oneof(
      fc.nat().map((index) => createdOrderIds[index % createdOrderIds.length] ?? randomUUID()),
      fc.uuid(),
    );
  if (schema.enum) return fc.constantFrom(...schema.enum);
  switch (schema.type) {
    case 'object': {
      const properties = schema.properties ?? {};
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [key, value] of Object.entries(properties)) record[key] = fromSchema(value, key);
      return fc.record(record, { requiredKeys: schema.required ?? [] });
    }
    case 'array':
      return fc.array(fromSchema(schema.items ?? {}), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 4, 4),
      });
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1_000, max: schema.maximum ?? 1_000 });
    case 'string':
      if (schema.format === 'uuid') return fc.uuid();
      if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern));
      return fc.string({ minLength: schema.minLength ?? 0, maxLength: schema.maxLength ?? 20 });
    default:
      return fc.anything();
  }
}

/** Mostly what the schema describes, sometimes anything at all (the negative cases). */
function valueFor(schema: JsonSchema, name: string): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: fromSchema(schema, name) },
    { weight: 1, arbitrary: hostileString() },
  );
}

/** A client's Idempotency-Key: a fresh one, or one of a few reused (replays, 422). */
const idempotencyKey = (runId: string) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.uuid().map((uuid) => `${runId}-${uuid}`) },
    { weight: 2, arbitrary: fc.constantFrom(...['k1', 'k2', 'k3'].map((k) => `${runId}-${k}`)) },
    { weight: 1, arbitrary: hostileString() },
  );

interface GeneratedRequest {
  target: string;
  headers: [string, string][];
  body?: Buffer;
}

/** Requests for `operation` of `path`, built from the document alone. */
function requestsFor(
  path: string,
  method: string,
  operation: Operation,
  runId: string,
): fc.Arbitrary<GeneratedRequest> {
  const parameters = operation.parameters ?? [];
  const values: Record<string, fc.Arbitrary<unknown>> = {};
  for (const parameter of parameters) {
    values[`${parameter.in}:${parameter.name}`] =
      parameter.in === 'header' && parameter.name === 'idempotency-key'
        ? idempotencyKey(runId)
        : valueFor(parameter.schema, parameter.name);
  }
  const bodySchema = operation.requestBody?.content['application/json']?.schema;
  const body = bodySchema
    ? fc.oneof(
        { weight: 6, arbitrary: fromSchema(bodySchema) },
        { weight: 1, arbitrary: hostileJson },
      )
    : fc.constant(undefined);
  return fc
    .record({
      values: fc.record(values, {
        requiredKeys: parameters
          .filter((parameter) => parameter.required)
          .map((parameter) => `${parameter.in}:${parameter.name}`),
      }),
      body,
      contentType: fc.oneof(
        { weight: 8, arbitrary: fc.constant('application/json') },
        { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/xml') },
      ),
    })
    .map(({ values: given, body: payload, contentType }) => {
      let target = path;
      const query = new URLSearchParams();
      const headers: [string, string][] = [];
      for (const parameter of parameters) {
        const value = given[`${parameter.in}:${parameter.name}`];
        if (value === undefined) continue;
        const text = (typeof value === 'string' ? value : JSON.stringify(value)).toWellFormed();
        if (parameter.in === 'path')
          target = target.replace(`{${parameter.name}}`, encodeURIComponent(text));
        else if (parameter.in === 'query') query.append(parameter.name, text);
        // Header values go as UTF-8 bytes, as a client would send them.
        else headers.push([parameter.name, Buffer.from(text).toString('latin1')]);
      }
      if (query.size > 0) target += `?${query.toString()}`;
      if (method !== 'post') return { target, headers };
      headers.push(['content-type', contentType]);
      return { target, headers, body: Buffer.from(JSON.stringify(payload) ?? 'null') };
    });
}

/** Ajv for JSON Schema 2020-12, OpenAPI 3.1's dialect, with the formats the API uses. */
function createValidator() {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats.default(ajv);
  ajv.addFormat(PLAIN_TEXT_FORMAT, isPlainText);
  const compiled = new Map<JsonSchema, ValidateFunction>();
  return (schema: JsonSchema, value: unknown) => {
    let check = compiled.get(schema);
    if (!check) compiled.set(schema, (check = ajv.compile(schema)));
    return check(value) ? undefined : ajv.errorsText(check.errors);
  };
}

/**
 * The answer is one the operation documents: its status is listed (and is not the 500 of a
 * bug), its body is JSON that validates against the status's schema, and every header the
 * document marks required is there. Returns the status, the case's outcome.
 */
function checkConforms(
  operation: Operation,
  answer: RawAnswer | undefined,
  validateAgainst: ReturnType<typeof createValidator>,
): string {
  if (!answer) throw new Error('the server closed the connection without an answer');
  const documented = operation.responses[String(answer.status)];
  expect(documented, `status ${answer.status} is not documented: ${answer.body}`).toBeDefined();
  expect(answer.status, answer.body).not.toBe(500);
  for (const [name, header] of Object.entries(documented?.headers ?? {}))
    if (header.required) expect(answer.headers[name], `header ${name}`).toBeDefined();
  const schema = documented?.content?.['application/json']?.schema;
  if (schema) {
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    const problem = validateAgainst(schema, JSON.parse(answer.body));
    expect(problem, `${answer.status} ${answer.body}`).toBeUndefined();
  }
  return String(answer.status);
}

/** The API's operations, as the document names them (the first test checks the list). */
const OPERATIONS = [
  ['post', '/v1/purchases'],
  ['get', '/v1/purchases/{id}'],
  ['get', '/v1/stock'],
  ['get', '/v1/stock/{sku}'],
] as const;

describe('every answer matches the document', () => {
  let document: Document;
  const validateAgainst = createValidator();
  const runId = randomUUID().slice(0, 8);

  beforeAll(async () => {
    const dereferenced: unknown = await dereference(
      structuredClone(await fetchDocument()) as never,
    );
    document = dereferenced as Document;
  });

  it.each(OPERATIONS)('%s %s: any input generated from its schemas', async (method, path) => {
    const operation = document.paths[path]?.[method];
    if (!operation) throw new Error(`the document has no ${method} ${path}`);
    await fuzz(
      `OpenAPI ${method.toUpperCase()} ${path}`,
      requestsFor(path, method, operation, runId),
      async (request) => {
        const answer = await rawRequest(port, { method: method.toUpperCase(), ...request });
        const outcome = checkConforms(operation, answer, validateAgainst);
        if (answer?.status === 201)
          createdOrderIds.push((JSON.parse(answer.body) as { orderId: string }).orderId);
        return outcome;
      },
    );
    expect((await fetch(`${purchase.opsUrl}/livez`)).status).toBe(200);
  });
});
