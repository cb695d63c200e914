import { defineProject } from 'vitest/config';
import { workspaceSources } from '../../vitest.config.js';

export default defineProject({
  resolve: {
    alias: workspaceSources,
  },
  test: {
    name: 'rotation',
    include: ['test/**/*.test.ts'],
    // the redis package's servers (a standalone one and a 3-node cluster), for test/redis.test.ts
    globalSetup: ['../redis/test/setup/global-setup.ts'],
    hookTimeout: 30_000,
  },
});
