import { defineProject } from 'vitest/config';
import { workspaceSources } from '../../vitest.config.js';

export default defineProject({
  resolve: {
    // The simulator itself imports neither core nor retry: it referees the limiter and must not
    // share its engine. Its tests use core's fake clock and retry's classifier.
    alias: workspaceSources,
  },
  test: {
    name: 'simulator',
    include: ['test/**/*.test.ts'],
  },
});
