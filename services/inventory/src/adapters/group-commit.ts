import { createGroupCommit } from '@switchboard/postgres';
import { Histogram, type Registry } from 'prom-client';
import type { GroupInBatches } from '../domain/batches.js';

/**
 * Group commit for the use cases that write (ADR 28): the calls that arrive while earlier
 * batches are in their transactions go together in the next one, and share its commit.
 */
export function groupCommitInBatches(options: {
  maxBatch: number;
  maxInFlight: number;
  registry: Registry;
}): GroupInBatches {
  const batchSize = new Histogram({
    name: 'inventory_batch_size',
    help: 'Calls of a use case (reserve, commit) that shared one transaction and its commit.',
    labelNames: ['use_case'],
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [options.registry],
  });
  return (useCase, runTogether, keyOf) => {
    const batches = createGroupCommit({
      run: runTogether,
      maxBatch: options.maxBatch,
      maxInFlight: options.maxInFlight,
      keyOf,
      onBatch: (size) => batchSize.observe({ use_case: useCase }, size),
    });
    return (request, signal) => batches.submit(request, signal);
  };
}
