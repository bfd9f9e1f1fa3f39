import { describe, expect, it } from 'vitest';
import { startServerAndClient } from './support/traced-call.js';

// No SDK in this file (vitest runs each file apart): tracing off, the production default.
describe('exemplars on the gRPC latency histograms, with tracing off', () => {
  it('are absent on both sides', async () => {
    const { tracedGetStock, exemplarTraceIds } = await startServerAndClient();

    await tracedGetStock();

    expect(await exemplarTraceIds()).toEqual({ server: [], client: [] });
  });
});
