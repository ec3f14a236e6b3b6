#!/usr/bin/env node
// Launcher: runs the compiled CLI. `npm ci` builds it (the `prepare` script); `npm run build` rebuilds it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('netfence: dist/ is missing; run `npm ci` or `npm run build` first\n');
  process.exit(2);
}
const { runCli } = await import(main.href);
process.exitCode = await runCli(process.argv.slice(2));
