import { defineConfig } from 'vitest/config';

/** The cluster topology's fault tests (`npm run test:cluster`): one system, one fault at a time. */
export default defineConfig({
  test: {
    include: ['cluster/**/*.test.ts'],
    // Each fault runs under load until the system has converged again.
    testTimeout: 300_000,
    // The first run builds the service images before the eleven containers start.
    hookTimeout: 900_000,
    fileParallelism: false,
  },
});
