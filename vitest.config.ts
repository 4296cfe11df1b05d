import { defineConfig } from 'vitest/config';

// Two projects: fast unit tests, and the lab suite (real namespaces, root only, minutes long).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts'],
          exclude: ['packages/lab/test/suite/**'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'lab',
          include: ['packages/lab/test/suite/**/*.test.ts'],
          testTimeout: 900_000,
          hookTimeout: 120_000,
          // One lab at a time per file; files run in sequence so runs never compete for the CPU.
          fileParallelism: false,
        },
      },
    ],
  },
});
