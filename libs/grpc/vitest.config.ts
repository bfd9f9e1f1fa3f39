import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    // test/stream-memory.test.ts forces collections (globalThis.gc) to measure the heap.
    execArgv: ['--expose-gc'],
  },
});
