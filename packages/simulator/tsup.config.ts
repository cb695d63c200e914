import { defineConfig } from 'tsup';

export default defineConfig({
  // `src/cli.ts` starts with its own `#!/usr/bin/env node` line (esbuild keeps it); a `banner`
  // would put the shebang into the library entry too.
  entry: ['src/index.ts', 'src/cli.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  platform: 'node',
});
