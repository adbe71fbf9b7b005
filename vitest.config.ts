import { readdirSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

/**
 * Files that run a whole deployment as child processes and kill, cut or
 * restart parts of it, or hold it to short lock, node, drain and provider
 * timeouts (tests/cluster, tests/faults, tests/bench): one at a time, so their
 * timings do not compete with another such file. Everything else runs two
 * files at once, and so do the deployment files named here, whose assertions
 * are outcomes only (no kill, no restart, no timeout a busy neighbour could
 * trip). A new file under those folders runs one at a time until named here.
 *
 * `npm test` (scripts/test-lanes.mjs) runs the two projects side by side in
 * two Vitest processes, so the one-at-a-time files, which mostly wait on
 * their timers, run beside the rest instead of after it; `npx vitest run`
 * runs them one project after the other.
 */
const TWO_AT_ONCE_DEPLOYMENTS = [
  'tests/cluster/pgbouncer.test.ts',
  'tests/faults/bad-input.test.ts',
  'tests/faults/races.test.ts',
  'tests/faults/scaling.test.ts',
];

const ONE_AT_A_TIME = ['tests/cluster', 'tests/faults', 'tests/bench']
  .flatMap((dir) =>
    readdirSync(new URL(`./${dir}/`, import.meta.url), { recursive: true })
      .map(String)
      .filter((file) => file.endsWith('.test.ts'))
      .map((file) => `${dir}/${file}`),
  )
  .filter((file) => !TWO_AT_ONCE_DEPLOYMENTS.includes(file));

export default defineConfig({
  // Each lane of scripts/test-lanes.mjs keeps its own results cache (the file
  // durations Vitest orders by), so the two processes never write one file.
  ...(process.env.VITEST_LANE && {
    cacheDir: `node_modules/.vite/lane-${process.env.VITEST_LANE}`,
  }),
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
