import { defineConfig } from 'vitest/config';

// The fault-injection suite (`npm run test:reliability`): kills processes, fills disks, stops brokers.
// Each file in its own forked process (chDB binds one data directory per process); two at a time, as the
// default suite does, so the whole run stays within a few minutes on two cores.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['tests/reliability/**/*.test.ts'],
    globalSetup: ['tests/reliability/global-setup.ts'],
    testTimeout: 150_000,
    hookTimeout: 120_000,
    fileParallelism: true,
    maxWorkers: 2,
  },
});
