// Lets Node 24 load this repository's TypeScript sources natively (type stripping) where jest
// does not run them: jest's global setup files, and child processes of the suites. Sources
// import './x.js' as NodeNext wants; this maps such a relative specifier, imported from a .ts
// file, to './x.ts' when only the latter exists. Import it for its effect.
import { existsSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { fileURLToPath } from 'node:url';

if (typeof nodeModule.registerHooks !== 'function') {
  throw new Error(`Node ${process.version} is too old for the test suites (package.json wants >= 24): put node_modules/.bin first on PATH`);
}
nodeModule.registerHooks({
  resolve(specifier, context, nextResolve) {
    if (/^\.\.?\//.test(specifier) && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
      const source = new URL(`${specifier.slice(0, -'.js'.length)}.ts`, context.parentURL);
      if (existsSync(fileURLToPath(source))) return nextResolve(source.href, context);
    }
    return nextResolve(specifier, context);
  },
});
