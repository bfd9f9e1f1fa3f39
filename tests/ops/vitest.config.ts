import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 120_000,
    // Each file starts Postgres and NATS in containers before its processes.
    hookTimeout: 180_000,
    // The files start real processes and measure them; one at a time keeps the timings honest
    // on a two-core CI machine.
    fileParallelism: false,
  },
});
