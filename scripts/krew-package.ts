/**
 * `npm run krew:package`: the archive krew installs `kubectl netfence` from, and its manifest.
 *
 * The archive holds what the plugin runs on: the tree scripts/image-root.sh assembles for the
 * image (bin/, dist/src, package.json, the production dependencies without type declarations,
 * source maps and docs), plus LICENSE. It is written to dist/krew/netfence-<version>.tar.gz and
 * the manifest, with the archive's sha256, to plugins/netfence.yaml (--out DIR and --manifest FILE
 * change where). The manifest's uri is the asset of the GitHub release v<version> of the
 * repository in package.json ("repository"; without one, a placeholder owner).
 *
 * Guarantees: the same tree gives the same bytes, whenever and wherever it is packed: entries
 * sorted by name, mtime 0, owner 0:0 without names, mode 0755 for folders and executables and
 * 0644 for the rest, gzip without name or time and with the Unix OS byte. One archive serves
 * Linux and macOS (the plugin is JavaScript); a symlink in the tree is an error (npm's
 * node_modules/.bin links are left out, nothing runs them).
 * Assumes: `npm run build` ran (npm run krew:package does it), and npm can install the
 * production dependencies from package-lock.json. The user's machine has Node 24 or later as
 * `node` on the PATH: the manifest's caveats say so.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** Where the repository is when package.json names none: a placeholder, to replace before a release. */
export const PLACEHOLDER_REPOSITORY = 'https://github.com/OWNER/netfence';

/** The krew file the plugin's executable is: krew links it as kubectl-netfence on the PATH. */
export const PLUGIN_BIN = 'bin/netfence.js';

export interface PackageJson {
  name: string;
  version: string;
  license?: string;
  repository?: string | { url?: string };
}

/** The GitHub repository of package.json's "repository" as https://github.com/OWNER/NAME, else the placeholder. */
export function repositoryUrl(pkg: PackageJson): string {
  const raw = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
  if (raw === undefined || raw === '') return PLACEHOLDER_REPOSITORY;
  const m = /^(?:github:|git\+https:\/\/github\.com\/|https:\/\/github\.com\/|git@github\.com:|git:\/\/github\.com\/)?([\w.-]+)\/([\w.-]+?)(?:\.git)?\/?$/.exec(raw);
  if (m === null) throw new Error(`package.json "repository" ${JSON.stringify(raw)} is not a GitHub repository (owner/name or a github.com URL)`);
  return `https://github.com/${m[1]}/${m[2]}`;
}

export function archiveName(version: string): string {
  return `netfence-${version}.tar.gz`;
}

/** The release asset krew downloads: GitHub's address for a file attached to release v<version>. */
export function releaseUri(pkg: PackageJson): string {
  return `${repositoryUrl(pkg)}/releases/download/v${pkg.version}/${archiveName(pkg.version)}`;
}

/** The krew Plugin manifest (krew.googlecontainertools.github.com/v1alpha2) of an archive. */
export function krewManifest(pkg: PackageJson, sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a sha256: ${JSON.stringify(sha256)}`);
  return `# Written by \`npm run krew:package\` (scripts/krew-package.ts) with the sha256 of the archive it packs:
# run it for a release and attach dist/krew/${archiveName(pkg.version)} to the release v${pkg.version}.
apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: netfence
spec:
  version: v${pkg.version}
  homepage: ${repositoryUrl(pkg)}
  shortDescription: Render and check tenant NetworkPolicies
  description: |
    netfence keeps the tenants of a shared cluster apart with NetworkPolicies. The plugin is
    its command line: render prints the policies the operator maintains for your manifests,
    check proves that no path crosses a tenant's fence undeclared, diff says what a change
    opens and closes, matrix draws who reaches whom and explain says why one path is allowed
    or denied; with --live, check, matrix and explain read the cluster of your kubeconfig.
  caveats: |
    kubectl netfence runs on Node.js 24 or later: \`node\` on your PATH must be Node 24+
    (node --version). Run \`kubectl netfence --help\` for the commands.
  platforms:
    - selector:
        matchExpressions:
          - key: os
            operator: In
            values: [darwin, linux]
      uri: ${releaseUri(pkg)}
      sha256: ${sha256}
      bin: ${PLUGIN_BIN}
`;
}

interface Entry {
  path: string;
  dir: boolean;
  mode: number;
  data: Buffer;
}

/** Every file and folder under `root`, sorted by path, folders before what they hold. */
function entriesOf(root: string): Entry[] {
  const out: Entry[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      const path = relative(root, full).split('\\').join('/');
      if (path === 'node_modules/.bin') continue;
      const stat = lstatSync(full);
      if (stat.isSymbolicLink()) throw new Error(`${path} is a symlink: the archive holds files and folders only`);
      if (stat.isDirectory()) {
        out.push({ path: `${path}/`, dir: true, mode: 0o755, data: Buffer.alloc(0) });
        walk(full);
      } else if (stat.isFile()) {
        out.push({ path, dir: false, mode: (stat.mode & 0o111) !== 0 ? 0o755 : 0o644, data: readFileSync(full) });
      } else {
        throw new Error(`${path} is neither a file nor a folder`);
      }
    }
  };
  walk(root);
  return out;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** One ustar header; `name` and `prefix` already fit. */
function header(name: string, prefix: string, mode: number, size: number, type: string): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(0, 12), 136, 'ascii');
  h.write(' '.repeat(8), 148, 'ascii');
  h.write(type, 156, 'ascii');
  h.write('ustar\u000000', 257, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/** ustar splits a long path at a slash into prefix (155 bytes) and name (100 bytes). */
function split(path: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(path) <= 100) return { prefix: '', name: path };
  for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name !== '') return { prefix, name };
  }
  return undefined;
}

function padded(data: Buffer): Buffer[] {
  const rest = data.length % 512;
  return rest === 0 ? [data] : [data, Buffer.alloc(512 - rest)];
}

/** The tar archive of `root`'s entries (a pax `path` record for a path ustar cannot hold). */
export function tarOf(root: string): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entriesOf(root)) {
    let parts = split(e.path);
    if (parts === undefined) {
      const record = (len: number): string => `${len} path=${e.path}\n`;
      let len = Buffer.byteLength(record(0));
      while (Buffer.byteLength(record(len)) !== len) len = Buffer.byteLength(record(len));
      const pax = Buffer.from(record(len), 'utf8');
      blocks.push(header('PaxHeader', '', 0o644, pax.length, 'x'), ...padded(pax));
      parts = { prefix: '', name: e.path.slice(0, 100) };
    }
    blocks.push(header(parts.name, parts.prefix, e.mode, e.data.length, e.dir ? '5' : '0'), ...padded(e.data));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** gzip of `tar` without a name or time (zlib writes neither), with the Unix OS byte on every platform. */
export function tarGzOf(root: string): Buffer {
  const gz = gzipSync(tarOf(root), { level: 9 });
  gz[9] = 3;
  return gz;
}

export function sha256Of(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The repository root: the nearest folder above this script that holds package.json. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('krew-package: no package.json above the script');
    dir = up;
  }
  return dir;
}

const LICENSE_NOTE = (license: string): string =>
  `netfence is licensed under the ${license === 'Apache-2.0' ? 'Apache License, Version 2.0' : license} (package.json "license": ${JSON.stringify(license)}).\n` +
  (license === 'Apache-2.0' ? 'The licence text: https://www.apache.org/licenses/LICENSE-2.0\n' : '') +
  'The licences of the dependencies are in node_modules/*/LICENSE*.\n';

/**
 * Assembles the plugin's tree into `dir` (scripts/image-root.sh, then LICENSE: the repository's,
 * else a note naming package.json's licence) and returns where it is.
 */
export function assemble(root: string, dir: string): string {
  const built = spawnSync('sh', ['scripts/image-root.sh', dir], { cwd: root, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`scripts/image-root.sh failed: ${built.stderr.trim() || `exit ${built.status}`}`);
  const app = join(dir, 'app');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;
  const license = join(root, 'LICENSE');
  writeFileSync(join(app, 'LICENSE'), existsSync(license) ? readFileSync(license) : LICENSE_NOTE(pkg.license ?? 'UNLICENSED'));
  return app;
}

function main(argv: readonly string[]): number {
  const root = repoRoot();
  let out = join(root, 'dist', 'krew');
  let manifest = join(root, 'plugins', 'netfence.yaml');
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if ((flag === '--out' || flag === '--manifest') && value !== undefined) {
      if (flag === '--out') out = resolve(value);
      else manifest = resolve(value);
      i++;
      continue;
    }
    process.stderr.write(
      `krew-package: ${flag === '--out' || flag === '--manifest' ? `${flag} needs a value` : `unknown argument ${JSON.stringify(flag)}`}; usage: krew-package [--out DIR] [--manifest FILE]\n`,
    );
    return 2;
  }
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;
  const work = mkdtempSync(join(tmpdir(), 'netfence-krew-'));
  try {
    const archive = tarGzOf(assemble(root, work));
    const sha256 = sha256Of(archive);
    mkdirSync(out, { recursive: true });
    mkdirSync(dirname(manifest), { recursive: true });
    const file = join(out, archiveName(pkg.version));
    writeFileSync(file, archive);
    writeFileSync(manifest, krewManifest(pkg, sha256));
    process.stdout.write(
      `krew-package: ${relative(process.cwd(), file) || file} (${(archive.length / 1e6).toFixed(1)} MB, sha256 ${sha256}) and ${relative(process.cwd(), manifest) || manifest}\n`,
    );
    if (repositoryUrl(pkg) === PLACEHOLDER_REPOSITORY)
      process.stdout.write(`krew-package: package.json names no "repository": the uri and homepage use the placeholder ${PLACEHOLDER_REPOSITORY}\n`);
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`krew-package: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
