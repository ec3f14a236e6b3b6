// ESLint for the whole repository (`npm run lint`, part of `npm test`): type-aware typescript-eslint
// rules for the TypeScript sources (src/, test/, bench/, scripts/, the files tsconfig.json includes),
// ESLint's own recommended rules for the few JavaScript files (jest configs, bin/, test hooks).
// Formatting is Prettier's business (`npm run format:check`); no rule here is about layout.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

// The Node globals the JavaScript files use (the `globals` package is not a dependency).
const NODE_GLOBALS = Object.fromEntries(
  ['process', 'console', 'URL', 'Buffer', 'globalThis', 'setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval'].map((name) => [
    name,
    'readonly',
  ]),
);

export default defineConfig([
  // Generated or vendored: compiled output, the generated CRDs and Helm chart, coverage, the control-plane build cache.
  globalIgnores(['dist/', 'node_modules/', 'crds/', 'charts/', 'coverage/', '.control-plane/', '.scratch/']),
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: { ecmaVersion: 'latest', sourceType: 'module', globals: NODE_GLOBALS },
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A promise nobody awaits loses its rejection; fire-and-forget is spelled `void p` with the reason beside it.
      '@typescript-eslint/no-floating-promises': 'error',
      // An async function where a void callback is expected (event handlers, timers) drops its rejection.
      '@typescript-eslint/no-misused-promises': 'error',
      // Imports used only as types say so, either style (`import type { A }` or `import { type A }`),
      // so that verbatimModuleSyntax drops them from the emitted JavaScript.
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports' }],
      // `_name` marks a parameter or binding kept for its position (callbacks, destructuring that drops a field).
      // Off: an `async` function without `await` is how this code writes a Promise-returning function whose
      // throw must become a rejection: fakes and stubs of async interfaces in test/, token sources in src/kube.
      // Rewriting them as `() => Promise.resolve(x)` would turn a throw into an exception at the call instead.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
]);
