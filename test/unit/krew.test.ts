/**
 * The krew package (scripts/krew-package.ts): the archive is the same bytes for the same tree
 * whatever the files' times and permission noise, GNU tar reads it back as written (long
 * paths included), and the manifest has what krew requires and agrees with package.json.
 * test/integration/kubectl-plugin.test.ts packs the real tree, validates the manifest with
 * krew's own validator and installs it with krew.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { archiveName, krewManifest, PLACEHOLDER_REPOSITORY, PLUGIN_BIN, releaseUri, repositoryUrl, sha256Of, tarGzOf, type PackageJson } from '../../scripts/krew-package.js';

const PKG = JSON.parse(readFileSync('package.json', 'utf8')) as PackageJson;
const LONG = `node_modules/${'deep/'.repeat(60)}file.js`;

let dirs: string[] = [];
function tree(mtime: number, mode: number): string {
  const root = mkdtempSync(join(tmpdir(), 'netfence-krew-tree-'));
  dirs.push(root);
  mkdirSync(join(root, 'bin'));
  writeFileSync(join(root, 'bin', 'netfence.js'), '#!/usr/bin/env node\n');
  chmodSync(join(root, 'bin', 'netfence.js'), 0o700 | (mode & 0o055));
  writeFileSync(join(root, 'package.json'), '{"name":"netfence"}\n');
  mkdirSync(join(root, LONG, '..'), { recursive: true });
  writeFileSync(join(root, LONG), 'x'.repeat(700));
  mkdirSync(join(root, 'node_modules', '.bin'));
  symlinkSync('../deep/file.js', join(root, 'node_modules', '.bin', 'tool'));
  for (const f of ['bin/netfence.js', 'package.json', LONG]) utimesSync(join(root, f), mtime, mtime);
  chmodSync(join(root, 'package.json'), mode);
  return root;
}

afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

describe('the archive', () => {
  test('is the same bytes for the same tree, whatever the times and the group/other bits', () => {
    const a = tarGzOf(tree(1_000_000, 0o644));
    const b = tarGzOf(tree(2_000_000, 0o600));
    expect(sha256Of(a)).toBe(sha256Of(b));
    expect(a[9]).toBe(3);
  });

  test('GNU tar lists it as written: sorted, owner 0/0, time 0, 0755 for folders and executables, no .bin links', () => {
    const root = tree(1_000_000, 0o600);
    const file = join(root, '..', `${root.split('/').pop()}.tar.gz`);
    writeFileSync(file, tarGzOf(root));
    dirs.push(file);
    const listed = spawnSync('tar', ['-tvzf', file, '--numeric-owner', '--utc'], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
    expect(listed.status).toBe(0);
    const lines = listed.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/));
    const byPath = new Map(lines.map((l) => [l[5], l]));
    expect(byPath.get('bin/netfence.js')?.slice(0, 2)).toEqual(['-rwxr-xr-x', '0/0']);
    expect(byPath.get('package.json')?.slice(0, 2)).toEqual(['-rw-r--r--', '0/0']);
    expect(byPath.get('bin/')?.[0]).toBe('drwxr-xr-x');
    for (const l of lines) expect(`${l[3]} ${l[4]}`).toBe('1970-01-01 00:00');
    expect([...byPath.keys()].some((p) => p?.includes('.bin'))).toBe(false);
    expect(byPath.has(LONG)).toBe(true);
    const paths = lines.map((l) => l[5] as string);
    expect(paths).toEqual([...paths].sort());
  });

  test('extracts with GNU tar to the same content, the long path included', () => {
    const root = tree(1_000_000, 0o644);
    const out = mkdtempSync(join(tmpdir(), 'netfence-krew-out-'));
    dirs.push(out);
    const file = join(out, 'a.tar.gz');
    writeFileSync(file, tarGzOf(root));
    expect(spawnSync('tar', ['-xzf', file, '-C', out]).status).toBe(0);
    expect(readFileSync(join(out, LONG), 'utf8')).toBe('x'.repeat(700));
    expect(readFileSync(join(out, 'bin', 'netfence.js'), 'utf8')).toBe('#!/usr/bin/env node\n');
  });

  test('refuses a symlink outside node_modules/.bin, naming it', () => {
    const root = tree(1_000_000, 0o644);
    symlinkSync('netfence.js', join(root, 'bin', 'other'));
    expect(() => tarGzOf(root)).toThrow('bin/other is a symlink: the archive holds files and folders only');
  });
});

describe('the manifest', () => {
  const sha = 'ab'.repeat(32);
  const m = parse(krewManifest(PKG, sha)) as {
    apiVersion: string;
    kind: string;
    metadata: { name: string };
    spec: {
      version: string;
      homepage: string;
      shortDescription: string;
      caveats: string;
      platforms: { selector: { matchExpressions: { key: string; operator: string; values: string[] }[] }; uri: string; sha256: string; bin: string }[];
    };
  };

  test('has the fields krew requires: Plugin of v1alpha2 named as its file, a v-prefixed semver, a short description, platforms with uri, sha256 and bin', () => {
    expect(m.apiVersion).toBe('krew.googlecontainertools.github.com/v1alpha2');
    expect(m.kind).toBe('Plugin');
    expect(m.metadata.name).toBe('netfence');
    expect(m.spec.version).toBe(`v${PKG.version}`);
    expect(m.spec.version).toMatch(/^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
    expect(m.spec.shortDescription.length).toBeGreaterThan(0);
    expect(m.spec.shortDescription.length).toBeLessThanOrEqual(50);
    expect(m.spec.platforms).toHaveLength(1);
    const [p] = m.spec.platforms;
    expect(p?.selector.matchExpressions).toEqual([{ key: 'os', operator: 'In', values: ['darwin', 'linux'] }]);
    expect(p?.sha256).toBe(sha);
    expect(p?.bin).toBe(PLUGIN_BIN);
    expect(p?.uri).toBe(`${repositoryUrl(PKG)}/releases/download/v${PKG.version}/netfence-${PKG.version}.tar.gz`);
    expect(m.spec.caveats).toContain('Node.js 24');
  });

  test('refuses what is not a sha256', () => {
    expect(() => krewManifest(PKG, 'abc')).toThrow('not a sha256: "abc"');
  });

  test('plugins/netfence.yaml is what the script writes for this package.json, with a sha256 of its own', () => {
    const committed = readFileSync('plugins/netfence.yaml', 'utf8');
    const sha256 = /\n {6}sha256: ([0-9a-f]{64})\n/.exec(committed)?.[1] ?? '';
    expect(committed).toBe(krewManifest(PKG, sha256));
  });

  test('the uri is the GitHub release asset of the repository in package.json, else the placeholder', () => {
    const base = { name: 'netfence', version: '1.2.3' };
    expect(releaseUri({ ...base, repository: { url: 'git+https://github.com/acme/netfence.git' } })).toBe(
      'https://github.com/acme/netfence/releases/download/v1.2.3/netfence-1.2.3.tar.gz',
    );
    expect(repositoryUrl({ ...base, repository: 'github:acme/fence' })).toBe('https://github.com/acme/fence');
    expect(repositoryUrl({ ...base, repository: 'acme/fence' })).toBe('https://github.com/acme/fence');
    expect(repositoryUrl(base)).toBe(PLACEHOLDER_REPOSITORY);
    expect(() => repositoryUrl({ ...base, repository: 'https://gitlab.com/acme/fence' })).toThrow('is not a GitHub repository');
    expect(archiveName('1.2.3')).toBe('netfence-1.2.3.tar.gz');
  });
});
