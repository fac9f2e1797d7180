import { defineConfig } from 'vitest/config';

// chDB binds one data directory per process: every test file runs in its own
// forked process and makes its own temporary data directory.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['tests/**/*.test.ts'],
    exclude: ['tests/reliability/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: true,
    maxWorkers: 2,
  },
});
