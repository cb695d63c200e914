import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: {
    // Runtime imports of core resolve to its sources, so the tests need no build of core.
    alias: [
      {
        find: /^@tollgate\/core\/testing$/,
        replacement: fileURLToPath(new URL('../core/src/testing.ts', import.meta.url)),
      },
      {
        find: /^@tollgate\/core$/,
        replacement: fileURLToPath(new URL('../core/src/index.ts', import.meta.url)),
      },
    ],
  },
  test: {
    name: 'redis',
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
