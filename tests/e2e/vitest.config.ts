import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The cluster suite (cluster/) runs apart: `npm run test:cluster`.
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    // The first run on a machine builds every image of docker-compose.yml before the system
    // can start: about 10 minutes on 2 cores with Docker's legacy builder, more when the e2e
    // suite is the first to build them (purchase's component tests otherwise warm the cache).
    hookTimeout: 1_200_000,
    // The tests drive one shared system; each file would start another one.
    fileParallelism: false,
  },
});
