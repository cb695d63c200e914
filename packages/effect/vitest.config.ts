import { defineProject } from 'vitest/config';
import { workspaceSources } from '../../vitest.config.js';

export default defineProject({
  resolve: {
    alias: workspaceSources,
  },
  test: {
    name: 'effect',
    include: ['test/**/*.test.ts'],
  },
});
