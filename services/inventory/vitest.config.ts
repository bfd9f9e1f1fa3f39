import { defineConfig } from 'vitest/config';

// Hooks start a Postgres container per test file, which takes longer than a test.
export default defineConfig({ test: { testTimeout: 60_000, hookTimeout: 120_000 } });
