import { defineConfig } from 'vitest/config';

// The machine has 2 cores and end-to-end tests run real sandboxes, so files run
// in few workers; live tests only run when HOPX_API_KEY is set (see test/live).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
