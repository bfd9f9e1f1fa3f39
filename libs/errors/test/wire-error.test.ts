import { describe, expect, it } from 'vitest';
import { AppError, fromWireError, singleLineMessage, toWireError } from '../src/index.js';

const roundTrip = (error: AppError) => fromWireError(toWireError(error));

describe('the wire form of an AppError', () => {
  it('carries the code, the message and details with any Unicode exactly', () => {
    const details = { skus: ['é', 'a\u0007', 'line\r\nbreak', '  spaced  ', '😀', 'عربى'] };
    const back = roundTrip(new AppError('NOT_FOUND', 'unknown SKUs: é', { details }));
    expect(back).toMatchObject({ code: 'NOT_FOUND', message: 'unknown SKUs: é', details });
  });

  it('sends details as UTF-8 JSON bytes, and none when the error has none', () => {
    const wire = toWireError(new AppError('INVALID_ARGUMENT', 'bad', { details: { sku: 'é' } }));
    expect(Buffer.from(wire.details!).toString('utf8')).toBe('{"sku":"é"}');
    expect(toWireError(new AppError('INVALID_ARGUMENT', 'bad')).details).toBeUndefined();
  });

  it('makes a message with an unpaired surrogate well-formed', () => {
    expect(toWireError(new AppError('NOT_FOUND', 'sku \ud800')).message).toBe('sku \ufffd');
  });

  it('keeps the message of an INTERNAL error inside the process', () => {
    const wire = toWireError(new AppError('INTERNAL', 'password=hunter2 in the DSN'));
    expect(wire.message).toBe('internal error');
  });

  it('reads no AppError from a code that is not ours', () => {
    expect(fromWireError({ code: 'TEAPOT', message: 'x', details: undefined })).toBeUndefined();
    expect(fromWireError({ code: undefined, message: 'x', details: undefined })).toBeUndefined();
  });

  it('drops details it cannot decode and keeps the code, without throwing', () => {
    for (const details of ['not json', '[1,2]', 'null', '"text"', '\xff\xfe'].map((text) =>
      Buffer.from(text, 'latin1'),
    )) {
      const error = fromWireError({ code: 'NOT_FOUND', message: 'gone', details });
      expect(error).toMatchObject({ code: 'NOT_FOUND', message: 'gone', details: undefined });
    }
  });

  it('makes a single line of a message: control characters become spaces', () => {
    expect(singleLineMessage('a\r\nb\u0000c\u0085d \ud800')).toBe('a  b c d \ufffd');
  });
});
