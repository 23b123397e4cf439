import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.spec.ts', 'src/**/*.spec.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Every execution in the test suite (in this process and in the CLI runs it spawns) checks
    // the model's own invariants after every step (src/kernel/invariants.ts; docs/cli.md
    // --check-model): a state no kernel can be in fails the run with exit 3.
    env: { GUPCHECK_CHECK_MODEL: '1' },
  },
});
