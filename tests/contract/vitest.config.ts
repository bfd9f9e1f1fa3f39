import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    // The suite starts Postgres and NATS in containers and the built inventory before it runs.
    hookTimeout: 180_000,
  },
});
