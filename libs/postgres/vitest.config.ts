import { defineConfig } from 'vitest/config';

// The hooks start a Postgres container per test file.
export default defineConfig({ test: { testTimeout: 60_000, hookTimeout: 120_000 } });
