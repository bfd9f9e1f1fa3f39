import { defineConfig } from 'vitest/config';

// Hooks start a NATS container per test file.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // expect.poll waits for messages and reconnects, which take longer than its 1 s default.
    expect: { poll: { timeout: 10_000 } },
  },
});
