import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The cluster suite (cluster/) runs apart: `npm run test:cluster`.
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    // The first run builds both service images before the system can start.
    hookTimeout: 600_000,
    // The tests drive one shared system; each file would start another one.
    fileParallelism: false,
  },
});
