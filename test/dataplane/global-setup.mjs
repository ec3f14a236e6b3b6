// Jest loads global setup modules outside its own module system: no moduleNameMapper and no
// ESM transform, so TypeScript sources that import './x.js' (as NodeNext wants) cannot be
// loaded the way test files are. This shim lets Node 24 load them natively instead (type
// stripping), mapping a relative './x.js' imported from a .ts file to './x.ts' when only the
// latter exists. The setup itself is global-setup.ts.
import { existsSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { fileURLToPath } from 'node:url';

if (typeof nodeModule.registerHooks !== 'function') {
  throw new Error(`Node ${process.version} is too old for the dataplane suites (package.json wants >= 24): put node_modules/.bin first on PATH`);
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

const { default: globalSetup } = await import('./global-setup.ts');
export default globalSetup;
