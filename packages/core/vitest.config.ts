import { defineConfig } from 'vitest/config';

/**
 * Core's own tests: pure functions, no database or Redis, so no global setup.
 * Used by the mutation run (`npm run test:mutation`); the root config runs
 * these files too, alongside everything else.
 */
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
  },
});
