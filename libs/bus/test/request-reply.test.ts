import { headers } from '@nats-io/transport-node';
import { AppError } from '@switchboard/errors';
import { runWithRequestId } from '@switchboard/observability';
import { capturingLogger, startNats, type StartedNats, testLogger } from '@switchboard/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ERROR_CODE_HEADER,
  ERROR_DETAILS_HEADER,
  TIMEOUT_HEADER,
  natsRequest,
  startNatsService,
  type Bus,
  type EndpointHandler,
} from '../src/index.js';
import { connectTestBus } from './support/fixtures.js';

let nats: StartedNats;
let bus: Bus;
const logger = testLogger('bus-test');
let serviceNumber = 0;

beforeAll(async () => {
  nats = await startNats();
  bus = await connectTestBus(nats.url, 'request-reply-test', logger);
});

afterAll(async () => {
  await bus?.drain();
  await nats?.stop();
});

/** A service of one endpoint on a subject prefix of its own; returns the endpoint's subject. */
async function serve(handler: EndpointHandler): Promise<string> {
  serviceNumber += 1;
  const subjectPrefix = `test${serviceNumber}.v1`;
  const service = await startNatsService(bus, {
    name: `test${serviceNumber}`,
    version: '1.0.0',
    description: 'a test service',
    subjectPrefix,
    endpoints: { Echo: handler },
  });
  afterAll(() => service.stop());
  return `${subjectPrefix}.Echo`;
}

const inSeconds = (seconds: number) => new Date(Date.now() + seconds * 1000);

describe('error replies that carry what the caller sent', () => {
  // Details and messages echo the request, so they hold any Unicode. A NATS header value
  // cannot hold CR or LF: such an error used to throw while it was sent, an unhandled
  // rejection that killed the process, and the caller waited out its deadline.
  const hostileSkus = ['line\r\nbreak', 'nul\u0000', 'é', '😀', ' padded ', 'bell\u0007'];

  it('carries details exactly and the message with control characters as spaces', async () => {
    const subject = await serve(() =>
      Promise.reject(
        new AppError('NOT_FOUND', 'unknown SKU: line\r\nbreak', { details: { skus: hostileSkus } }),
      ),
    );
    const error = await natsRequest(bus, subject, new Uint8Array(), {
      deadline: inSeconds(5),
      peerName: 'test',
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({
      code: 'NOT_FOUND',
      message: 'unknown SKU: line  break',
      details: { skus: hostileSkus },
    });
  });

  it('keeps the code of a reply whose details cannot be decoded, and drops the details', async () => {
    // A foreign or broken responder: our code header, then details that are not what we send.
    const subject = 'foreign.v1.Echo';
    const subscription = bus.connection.subscribe(subject, {
      callback: (_error, message) => {
        const reply = headers(404, 'gone');
        reply.set('Nats-Service-Error-Code', '404');
        reply.set('Nats-Service-Error', 'gone');
        reply.set(ERROR_CODE_HEADER, 'NOT_FOUND');
        reply.set('switchboard-error-details', '{not json');
        reply.set(ERROR_DETAILS_HEADER, '!!not base64 of json');
        message.respond(new Uint8Array(), { headers: reply });
      },
    });
    afterAll(() => subscription.unsubscribe());
    const error = await natsRequest(bus, subject, new Uint8Array(), {
      deadline: inSeconds(5),
      peerName: 'foreign',
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'NOT_FOUND', message: 'gone', details: undefined });
  });
});

describe('the caller timeout header', () => {
  /** Answers after 50 ms unless its signal aborted meanwhile. */
  const slowEcho: EndpointHandler = async (payload, { signal }) => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    signal.throwIfAborted();
    return payload;
  };

  async function requestWithTimeoutHeader(subject: string, value: string) {
    const sent = headers();
    sent.set(TIMEOUT_HEADER, value);
    const reply = await bus.connection.request(subject, new TextEncoder().encode('hi'), {
      timeout: 5_000,
      headers: sent,
    });
    return {
      errorCode: reply.headers?.get(ERROR_CODE_HEADER) ?? '',
      data: new TextDecoder().decode(reply.data),
    };
  }

  it('serves a timeout longer than a timer can wait as the longest one, not as 1 ms', async () => {
    // Node fires a timer of more than 2^31-1 ms after 1 ms: the work used to be aborted at once.
    const subject = await serve(slowEcho);
    expect(await requestWithTimeoutHeader(subject, '99999999999')).toEqual({
      errorCode: '',
      data: 'hi',
    });
  });
});

describe('the request id (ADR 18)', () => {
  it("is passed on in a header and written in the handler's log lines", async () => {
    const { logger: handlerLogger, lines } = capturingLogger('inventory');
    const subject = await serve(() => {
      handlerLogger.info('echo answered');
      return Promise.resolve(new Uint8Array());
    });
    await runWithRequestId('req-nats-1', () =>
      natsRequest(bus, subject, new Uint8Array(), { deadline: inSeconds(5), peerName: 'test' }),
    );
    await natsRequest(bus, subject, new Uint8Array(), { deadline: inSeconds(5), peerName: 'test' });
    const answered = lines.filter((line) => line.msg === 'echo answered');
    expect(answered).toHaveLength(2);
    expect(answered[0]).toMatchObject({ requestId: 'req-nats-1' });
    // A request no public request started carries none.
    expect(answered[1]).not.toHaveProperty('requestId');
  });
});
