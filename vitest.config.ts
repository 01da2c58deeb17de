import { defineConfig } from 'vitest/config';

/**
 * Root test configuration. Each suite that needs something heavier than plain Node (Postgres,
 * workerd, several processes) is its own project, so it can be run alone
 * (`npx vitest run --project storage-postgres`) and so its setup cannot leak into the unit suites.
 *
 * The Postgres project is included whenever DATABASE_URL is set (CI always sets it); it then
 * fails, never skips, if the database is unreachable.
 */
const withPostgres = Boolean(process.env.DATABASE_URL);

export default defineConfig({
  test: {
    reporters: ['default', './scripts/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'shared',
          include: ['shared/src/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'storage-pglite',
          include: ['storage-node/src/**/*.test.ts'],
          exclude: ['storage-node/src/**/*.pg-only.test.ts'],
          env: { LEIOS_TEST_DB: 'pglite' },
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      ...(withPostgres
        ? [
            {
              extends: true as const,
              test: {
                name: 'storage-postgres',
                include: ['storage-node/src/**/*.test.ts'],
                env: { LEIOS_TEST_DB: 'postgres' },
                testTimeout: 120_000,
                hookTimeout: 120_000,
                // Suites share one database; files run one at a time to keep schemas apart.
                fileParallelism: false,
              },
            },
          ]
        : []),
      'edge/vitest.config.ts',
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
