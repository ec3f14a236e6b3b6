#!/usr/bin/env node
// Launcher: runs the compiled CLI. `npm ci` builds it (the `prepare` script); `npm run build` rebuilds it.
// Linked or copied as kubectl-netfence on the PATH (krew and npm's "bin" do that), it is the kubectl
// plugin `kubectl netfence`: programOf reads that name from the path it was started by.
// Whatever goes wrong here or outside a command (a failing import, an uncaught exception) is an
// internal error, as in runCli: one line on stderr, the stack only with NETFENCE_DEBUG=1, exit 3.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const INTERNAL = 3;

function fail(e) {
  const message = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ').trim() || 'unknown error';
  const debug = process.env.NETFENCE_DEBUG === '1';
  try {
    process.stderr.write(`netfence: internal error: ${message}${debug ? `\n${e instanceof Error && e.stack ? e.stack : String(e)}` : ' (NETFENCE_DEBUG=1 shows the stack)'}\n`);
  } finally {
    process.exit(INTERNAL);
  }
}
process.on('uncaughtException', fail);

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`netfence: needs Node 24 or later, this is Node ${process.versions.node} (npm ci puts Node 24 in node_modules/.bin)\n`);
  process.exit(INTERNAL);
}

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('netfence: internal error: dist/ is missing; run `npm ci` or `npm run build` first\n');
  process.exit(INTERNAL);
}
// A failing import rejects this module's top-level await: an uncaught exception, so fail() too.
const { runCli, programOf } = await import(main.href);
process.exitCode = await runCli(process.argv.slice(2), undefined, undefined, programOf(process.argv[1]));
