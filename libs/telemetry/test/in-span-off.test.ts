import { describe, expect, it } from 'vitest';
import { SpanKind, inSpan, tracingOn } from '../src/index.js';

// No SDK is registered in this file (vitest runs each file apart): inSpan's fast path.
describe('inSpan with tracing off', () => {
  it('runs the work, without building the span options, and gives its result', async () => {
    let optionsBuilt = false;
    const options = () => {
      optionsBuilt = true;
      return { kind: SpanKind.INTERNAL };
    };

    expect(tracingOn()).toBe(false);
    await expect(inSpan('work', options, () => Promise.resolve(42))).resolves.toBe(42);
    expect(optionsBuilt).toBe(false);
  });

  it('turns a throw before the work returns its promise into a rejection, as with tracing on', async () => {
    const work = (): Promise<never> => {
      throw new Error('thrown at once');
    };

    const result = inSpan('work', { kind: SpanKind.INTERNAL }, work);

    await expect(result).rejects.toThrow('thrown at once');
  });
});
