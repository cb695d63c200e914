import { defineProject } from 'vitest/config';
import { workspaceSources } from '../../vitest.config.js';

export default defineProject({
  resolve: {
    // For the tests that run the limiter against `@tollgate/simulator` (a devDependency).
    alias: workspaceSources,
  },
  test: {
    name: 'core',
    include: ['test/**/*.test.ts'],
  },
});
