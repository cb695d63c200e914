import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'retry',
    include: ['test/**/*.test.ts'],
  },
});
