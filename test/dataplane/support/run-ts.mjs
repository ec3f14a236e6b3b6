// Runs a TypeScript file of this repository with Node alone, outside jest (for child
// processes of the dataplane suites): `node --experimental-transform-types run-ts.mjs FILE.ts
// ARGS...`. Sources import './x.js' as NodeNext wants; this maps such a specifier, imported
// from a .ts file, to './x.ts' when only the latter exists.
import { existsSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

nodeModule.registerHooks({
  resolve(specifier, context, nextResolve) {
    if (/^\.\.?\//.test(specifier) && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
      const source = new URL(`${specifier.slice(0, -'.js'.length)}.ts`, context.parentURL);
      if (existsSync(fileURLToPath(source))) return nextResolve(source.href, context);
    }
    return nextResolve(specifier, context);
  },
});

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: run-ts.mjs FILE.ts [ARGS...]\n');
  process.exit(2);
}
process.argv.splice(1, 1);
await import(pathToFileURL(resolve(file)).href);
