import { defineConfig } from 'vitest/config';

/**
 * Files that run a whole deployment as child processes and kill, cut or
 * restart parts of it (tests/cluster, tests/faults, tests/bench): one at a
 * time, so their timings (lock durations, node timeouts) do not compete with
 * another such file. Everything else runs two files at once.
 */
const ONE_AT_A_TIME = [
  'tests/cluster/**/*.test.ts',
  'tests/faults/**/*.test.ts',
  'tests/bench/**/*.test.ts',
];

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    globalSetup: ['./tests/global-setup.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'two-at-once',
          include: ['apps/*/src/**/*.test.ts', 'packages/*/src/**/*.test.ts', 'tests/**/*.test.ts'],
          exclude: ONE_AT_A_TIME,
          maxWorkers: 2,
          globalSetup: [],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'one-at-a-time',
          include: ONE_AT_A_TIME,
          maxWorkers: 1,
          globalSetup: [],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
