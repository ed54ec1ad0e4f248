import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration and e2e tests start PGlite (~3 s) and whole runs; two cores, so keep files in two forks.
    pool: 'forks',
    // Owns the logical-WAL PostgreSQL that CDC test files start on demand (test/support/logical-pg.ts).
    globalSetup: ['test/support/logical-pg-global.ts'],
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    // Fixture specs under test/**/fixtures read the committed sample data in pipelines/data, outside
    // their own folder: allow that one root, as a user would (README: SLUICE_ALLOWED_ROOTS).
    env: { SLUICE_ALLOWED_ROOTS: resolve('pipelines/data') },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
