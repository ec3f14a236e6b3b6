// Jest loads global setup modules outside its own module system: no moduleNameMapper and no
// ESM transform, so TypeScript sources that import './x.js' (as NodeNext wants) cannot be
// loaded the way test files are. test/support/ts-hooks.mjs lets Node 24 load them natively
// instead. The setup itself is global-setup.ts.
import '../support/ts-hooks.mjs';

const { default: globalSetup } = await import('./global-setup.ts');
export default globalSetup;
