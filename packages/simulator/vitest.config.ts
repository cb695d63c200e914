import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: {
    // Tests check the simulator's bodies with @tollgate/retry's classifier, and use core's fake
    // clock; both resolve to their sources, so no build is needed. The simulator itself imports
    // neither: it referees the limiter and must not share its engine.
    alias: [
      {
        find: /^@tollgate\/core\/testing$/,
        replacement: fileURLToPath(new URL('../core/src/testing.ts', import.meta.url)),
      },
      {
        find: /^@tollgate\/core$/,
        replacement: fileURLToPath(new URL('../core/src/index.ts', import.meta.url)),
      },
      {
        find: /^@tollgate\/retry$/,
        replacement: fileURLToPath(new URL('../retry/src/index.ts', import.meta.url)),
      },
    ],
  },
  test: {
    name: 'simulator',
    include: ['test/**/*.test.ts'],
  },
});
