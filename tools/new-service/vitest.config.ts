import { defineConfig } from 'vitest/config';

// The generator test builds, lints, type-checks and tests a whole new service in a copy of
// the repository: minutes, not seconds, on a loaded 2-core machine.
export default defineConfig({ test: { testTimeout: 600_000, hookTimeout: 300_000 } });
