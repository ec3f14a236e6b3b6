/**
 * Writes the TenantIsolation CRD (from src/api/schema.ts) and its kustomization to crds/.
 * `--check` writes nothing and exits 1 when a committed file differs from what would be
 * written. Run through `npm run crd:gen` / `npm run crd:check` (compiled to dist/ first).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedCrdFiles, staleCrdFiles } from '../src/api/crd-files.js';

/** The repository root: the nearest folder above this script that holds package.json. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('gen-crd: no package.json above the script');
    dir = up;
  }
  return dir;
}

function main(argv: readonly string[]): number {
  const unknown = argv.filter((a) => a !== '--check');
  if (unknown.length > 0) {
    process.stderr.write(`gen-crd: unknown argument ${JSON.stringify(unknown[0])}; usage: gen-crd [--check]\n`);
    return 2;
  }
  const root = repoRoot();
  if (argv.includes('--check')) {
    const stale = staleCrdFiles((path) => {
      const file = join(root, path);
      return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
    });
    if (stale.length > 0) {
      process.stderr.write(`gen-crd: stale generated files: ${stale.join(', ')}\nRun \`npm run crd:gen\` and commit the result.\n`);
      return 1;
    }
    process.stdout.write('gen-crd: crds/ is up to date\n');
    return 0;
  }
  for (const f of generatedCrdFiles()) {
    const file = join(root, f.path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, f.content);
    process.stdout.write(`gen-crd: wrote ${f.path}\n`);
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
