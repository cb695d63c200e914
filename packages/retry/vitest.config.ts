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
    name: 'retry',
    include: ['test/**/*.test.ts'],
  },
});
