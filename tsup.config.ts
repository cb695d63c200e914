import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defineConfig } from 'tsup';

/**
 * The one build config of every package: each package's `build` script is
 * `tsup --config ../../tsup.config.ts`, run from the package's directory (so tsup still reads
 * that package's package.json for its externals and its tsconfig.json for the .d.ts build).
 *
 * The entries come from the package's own manifest: every `./dist/<name>.js` named by `exports`
 * or `bin` is built from `src/<name>.ts`. A bin's `#!/usr/bin/env node` line stays in its
 * source (esbuild keeps an entry's hashbang); a `banner` would put it into the library too.
 */
interface Manifest {
  exports: Record<
    string,
    string | { import?: { default?: string }; require?: { default?: string } }
  >;
  bin?: string | Record<string, string>;
}

const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as Manifest;
const built = [
  ...Object.values(manifest.exports).map((target) =>
    typeof target === 'string' ? target : target.import?.default,
  ),
  ...(typeof manifest.bin === 'string' ? [manifest.bin] : Object.values(manifest.bin ?? {})),
];
const entry: Record<string, string> = {};
for (const file of built) {
  const name = file?.match(/^\.\/dist\/(.+)\.js$/)?.[1];
  if (name === undefined) continue;
  entry[name] = `src/${name}.ts`;
  if (!existsSync(entry[name])) throw new Error(`${file} has no source at ${entry[name]}`);
}

export default defineConfig({
  entry,
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  // Node (>= 20) is what runs these packages. Only this platform makes esbuild end the CJS build
  // with the `0 && (module.exports = { … })` note that Node's cjs-module-lexer reads, so that
  // `import()` of the .cjs file sees the named exports and not only `default`
  // (`pnpm check:packages` compares them with the .js file's, per entry of `exports`).
  platform: 'node',
  // Keep `node:` specifiers as written (tsup strips them by default): Node >= 20 resolves them,
  // and a bundler consuming the package cannot mistake `node:crypto` for an npm package.
  removeNodeProtocol: false,
  onSuccess: checkNamedExports,
});

/**
 * Fails the build when `import()` of an entry's CJS file would not see the names its ESM file
 * exports: what `platform: 'node'` is for, checked on every build.
 */
async function checkNamedExports(): Promise<void> {
  const names = async (file: string) =>
    Object.keys(await import(pathToFileURL(resolve(file)).href)).filter(
      (name) => name !== 'default' && name !== 'module.exports',
    );
  for (const [subpath, target] of Object.entries(manifest.exports)) {
    const esm = typeof target === 'string' ? undefined : target.import?.default;
    const cjs = typeof target === 'string' ? undefined : target.require?.default;
    if (esm === undefined || cjs === undefined) continue;
    const [fromEsm, fromCjs] = await Promise.all([names(esm), names(cjs)]);
    const missing = fromEsm.filter((name) => !fromCjs.includes(name));
    if (missing.length > 0) {
      throw new Error(`${subpath}: import() of ${cjs} lacks ${missing.join(', ')}`);
    }
  }
}
