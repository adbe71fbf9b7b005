import { statSync } from 'node:fs';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Smallest test files first. Vitest's default runs the slowest first, and the
 * mutation run stops at the first failing test: a mutant in a module-level
 * constant runs every file, so it should meet its quick killer before the
 * 10,000-block CIDR comparison, not after.
 */
class SmallestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const size = (file: TestSpecification) => statSync(file.moduleId).size;
    return [...files].sort((a, b) => size(a) - size(b));
  }
}

/**
 * Core's own tests: pure functions, no database or Redis, so no global setup.
 * Used by the mutation run (`npm run test:mutation`); the root config runs
 * these files too, alongside everything else.
 */
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    sequence: { sequencer: SmallestFirst },
  },
});
