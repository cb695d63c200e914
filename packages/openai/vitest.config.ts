import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineProject({
  resolve: {
    // Workspace packages resolve to their sources, so the tests need no build of them.
    alias: [
      { find: /^@tollgate\/core\/testing$/, replacement: source('../core/src/testing.ts') },
      { find: /^@tollgate\/core$/, replacement: source('../core/src/index.ts') },
      { find: /^@tollgate\/retry$/, replacement: source('../retry/src/index.ts') },
      { find: /^@tollgate\/simulator$/, replacement: source('../simulator/src/index.ts') },
    ],
  },
  test: {
    name: 'openai',
    include: ['test/**/*.test.ts'],
  },
});
