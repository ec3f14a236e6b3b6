/**
 * The install that gives you the CLI (docs/contributing-npm.md): every dependency with an
 * install script is reviewed in package.json's allowScripts, so `npm ci` ends without npm's
 * install-scripts notice, and node_modules/.bin/node is the Node 24 the node devDependency
 * fetches. Runs the document's commands but `npm ci` itself, which .ci/run runs before
 * `npm test` (about 30 s, with the registry).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

interface Lock {
  packages: Record<string, { version?: string; hasInstallScript?: boolean; optional?: boolean; os?: string[] }>;
}

const DOC = readFileSync('docs/contributing-npm.md', 'utf8');
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { allowScripts?: Record<string, boolean>; devDependencies: Record<string, string> };
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as Lock;

/** The commands of the document's sh blocks. */
const commands = [...DOC.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => (m[1] ?? '').split('\n').filter((l) => l.trim() !== ''));

/** Dependencies with an install script that runs here: npm leaves out optional ones of another platform. */
function withInstallScripts(): string[] {
  const names = new Set<string>();
  for (const [path, p] of Object.entries(lock.packages)) {
    if (path === '' || p.hasInstallScript !== true) continue;
    names.add(path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
  }
  return [...names].sort();
}

describe('npm ci, as docs/contributing-npm.md says', () => {
  test('the document runs these commands, and this test runs all but npm ci', () => {
    expect(commands).toEqual(['npm ci --no-audit --no-fund', 'npm install-scripts ls', 'node_modules/.bin/node --version']);
    expect(readFileSync('.ci/run', 'utf8')).toContain('\nnpm ci --no-audit --no-fund\n');
  });

  test('allowScripts decides on every dependency with an install script in package-lock.json, and on nothing else', () => {
    expect(Object.keys(pkg.allowScripts ?? {}).sort()).toEqual(withInstallScripts());
    // Names only: the lockfile has no resolved URLs, against which npm checks a name@version pin.
    for (const key of Object.keys(pkg.allowScripts ?? {})) expect(key).not.toMatch(/.@/);
    expect(Object.values(lock.packages).some((p) => 'resolved' in p)).toBe(false);
  });

  test('the decisions the document gives: node and @swc/core allowed, @parcel/watcher denied', () => {
    expect(pkg.allowScripts).toEqual({ node: true, '@swc/core': true, '@parcel/watcher': false });
    for (const [name, allowed] of Object.entries(pkg.allowScripts ?? {}))
      expect(DOC).toMatch(new RegExp(`\\| \`${name.replace('/', '\\/')}\` \\|[^\\n]*\\| ${allowed ? 'allowed' : 'denied'}:`));
  });

  test('npm install-scripts ls finds nothing unreviewed in this install', () => {
    const r = spawnSync('npm', ['install-scripts', 'ls'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('No packages with unreviewed install scripts.');
  }, 60_000);

  test('node_modules/.bin/node is the Node of the node devDependency', () => {
    const r = spawnSync('node_modules/.bin/node', ['--version'], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe(`v${pkg.devDependencies['node']}`);
    expect(DOC).toContain(`prints \`v${pkg.devDependencies['node']}\``);
  });
});
