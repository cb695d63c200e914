import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Workspace packages resolve to their sources in tests (`@tollgate/x` → packages/x/src/index.ts,
 * `@tollgate/x/sub` → packages/x/src/sub.ts), so no package needs a build before another's
 * tests. Every package's vitest config uses these.
 */
export const workspaceSources = [
  {
    find: /^@tollgate\/([a-z]+)\/([a-z-]+)$/,
    replacement: fileURLToPath(new URL('./packages/$1/src/$2.ts', import.meta.url)),
  },
  {
    find: /^@tollgate\/([a-z]+)$/,
    replacement: fileURLToPath(new URL('./packages/$1/src/index.ts', import.meta.url)),
  },
];

export default defineConfig({
  test: {
    projects: ['packages/*', 'examples/agent'],
  },
});
