// Runs a TypeScript file of this repository with Node alone, outside jest (for child
// processes of the dataplane suites): `node [--experimental-transform-types] run-ts.mjs
// FILE.ts ARGS...`, with test/support/ts-hooks.mjs resolving './x.js' imports to './x.ts'.
import '../../support/ts-hooks.mjs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: run-ts.mjs FILE.ts [ARGS...]\n');
  process.exit(2);
}
// The file sees itself as argv[1], as when Node runs it directly.
process.argv.splice(1, 1);
await import(pathToFileURL(resolve(file)).href);
