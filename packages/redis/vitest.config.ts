import { defineProject } from 'vitest/config';
import { workspaceSources } from '../../vitest.config.js';

export default defineProject({
  resolve: {
    alias: workspaceSources,
  },
  test: {
    name: 'redis',
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
