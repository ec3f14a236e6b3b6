/**
 * The documentation: README.md, the front door, and docs/*.md.
 *
 * Guarantees:
 * - README.md stays under 150 lines and opens with the two commands (the main job with no
 *   cluster, and the tests).
 * - Every relative link in README.md and docs/*.md names a file or folder that exists, and,
 *   when it names an anchor in a Markdown file, a heading of that file (GitHub's anchors).
 * - The picture in README.md names pods and tenants of examples/shared-services, and each row
 *   of the verdict table under it is what `netfence explain` answers, exit code included.
 * - Every command in a ```sh block of README.md and of the docs listed in OWNED is handled
 *   by one entry of COMMANDS: run here (the offline netfence commands), or, when it needs a
 *   cluster, a network or the whole suite, checked against what it names (the kustomize
 *   folders build, the objects and labels it names are in config/, the flags are kubectl's,
 *   the npm scripts exist), with the reason in the entry. A command no entry handles fails.
 *
 * Assumes: the control-plane kubectl (test/control-plane/binaries.ts) is in the cache for the
 * flag checks; without it they are left out locally and fail under CI=true (.ci/run builds it
 * before the tests).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { cacheDir, wrapperModuleDir } from '../control-plane/binaries.js';
import { kustomizeBuild, readYamlFile, type Manifest } from '../fixtures/kustomize.js';
import { runNetfence } from '../fixtures/cli.js';

const ROOT = process.cwd();
const DOCS = readdirSync(join(ROOT, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => `docs/${f}`);
/** The docs whose commands this file runs; the other docs' helpers test their own. */
const OWNED = ['README.md', ...['README', 'concepts', 'tenantisolation', 'commands', 'installing', 'operating', 'security', 'design', 'contributing'].map((n) => `docs/${n}.md`)];

const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

/** The lines of a Markdown text outside fenced code blocks, with their line numbers. */
function proseLines(text: string): { line: string; at: number }[] {
  let fenced = false;
  return text.split('\n').flatMap((line, i) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return [];
    }
    return fenced ? [] : [{ line, at: i + 1 }];
  });
}

/** The anchors GitHub gives the headings of a Markdown text (duplicates get -1, -2, ...). */
export function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const { line } of proseLines(text)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = heading
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** Each relative link of a Markdown file that does not resolve, as `file:line: target: why`. */
export function brokenLinks(file: string, text: string, exists: (path: string) => 'file' | 'dir' | undefined, textOf: (path: string) => string): string[] {
  const problems: string[] = [];
  for (const { line, at } of proseLines(text)) {
    for (const m of line.replace(/`[^`]*`/g, (code) => (code.includes('](') ? '' : code)).matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1] as string;
      if (/^[a-z]+:/i.test(target)) continue;
      const [path = '', anchor] = target.split('#', 2);
      const resolved = path === '' ? file : normalize(join(dirname(file), path));
      const kind = exists(resolved);
      if (kind === undefined) {
        problems.push(`${file}:${at}: ${target}: ${resolved} does not exist`);
        continue;
      }
      if (anchor !== undefined && kind === 'file' && resolved.endsWith('.md') && !anchorsOf(textOf(resolved)).has(anchor)) {
        problems.push(`${file}:${at}: ${target}: ${resolved} has no heading #${anchor}`);
      }
    }
  }
  return problems;
}

const existsInRepo = (path: string): 'file' | 'dir' | undefined => {
  const full = join(ROOT, path);
  if (!existsSync(full)) return undefined;
  return statSync(full).isDirectory() ? 'dir' : 'file';
};

describe('README.md', () => {
  const readme = read('README.md');

  test('is a front door: under 150 lines, opening with the main job and the tests', () => {
    expect(readme.split('\n').length).toBeLessThan(150);
    const first = /^# netfence\n\n```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    expect(first).toMatch(/npx netfence render -f examples\/\S+.*# the main job, no cluster needed/);
    expect(first).toMatch(/^npm test\s+# the tests$/m);
  });

  test('links every page of docs/', () => {
    const index = read('docs/README.md');
    expect(readme).toContain('(docs/README.md)');
    for (const doc of DOCS.filter((d) => d !== 'docs/README.md')) expect(index).toContain(`](${doc.slice('docs/'.length)})`);
  });

  describe('its picture of examples/shared-services', () => {
    const picture = /## What it does[\s\S]*?```\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const example = readdirSync(join(ROOT, 'examples/shared-services'))
      .filter((f) => f.endsWith('.yaml'))
      .flatMap((f) => readYamlFile(join(ROOT, 'examples/shared-services', f)));
    const of = (kind: string): Manifest[] => example.filter((o) => o.kind === kind);

    test('names pods and tenants the example holds', () => {
      const pods = new Set(of('Pod').map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
      const tenants = new Set(of('TenantIsolation').map((t) => t.metadata.name));
      // namespace/pod, not a label key (netfence.dev/...) nor a prefix (0.0.0.0/0).
      const named = [...picture.matchAll(/(?<![\w./-])([a-z][a-z0-9-]*\/[a-z][a-z0-9-]*)(?![\w./-])/g)].map((m) => m[1] as string);
      expect(named.length).toBeGreaterThan(3);
      expect(named.filter((n) => !pods.has(n))).toEqual([]);
      const shownTenants = [...picture.matchAll(/tenant ([a-z0-9-]+)/g)].map((m) => m[1] as string);
      expect(new Set(shownTenants)).toEqual(tenants);
    });

    const rows = [...readme.matchAll(/^\| `([^`]+)` \| `([^`]+)` \| (\S+) \| (allowed|denied) \|$/gm)].map((m) => m.slice(1) as [string, string, string, string]);
    test('has a verdict table', () => expect(rows.length).toBeGreaterThanOrEqual(5));
    test.each(rows)('%s -> %s on %s is %s, as netfence explain says', async (from, to, port, verdict) => {
      const r = await runNetfence(['explain', '-f', 'examples/shared-services', from, to, '--port', port]);
      expect(r.stderr).not.toContain('error');
      expect(r.stdout.trimEnd().split('\n').at(-1)).toBe(`verdict: ${verdict}`);
      expect(r.code).toBe(verdict === 'allowed' ? 0 : 1);
    });
  });
});

describe('links', () => {
  test('find a missing file and a missing heading (the checker itself)', () => {
    const files: Record<string, string> = { 'docs/a.md': '# A\n\n## Two words: `x`\n', 'docs/b.md': '' };
    const exists = (p: string) => (p in files ? ('file' as const) : p === 'examples' ? ('dir' as const) : undefined);
    const text = (p: string) => files[p] ?? '';
    expect(brokenLinks('docs/b.md', '[ok](a.md#two-words-x) [dir](../examples) [self](#nope)\n```\n[in code](gone.md)\n```\n[web](https://x.test/y)\n', exists, text)).toEqual([
      'docs/b.md:1: #nope: docs/b.md has no heading #nope',
    ]);
    expect(brokenLinks('README.md', 'see [a](docs/a.md#two-words) and [c](docs/c.md)', exists, text)).toEqual([
      'README.md:1: docs/a.md#two-words: docs/a.md has no heading #two-words',
      'README.md:1: docs/c.md: docs/c.md does not exist',
    ]);
  });

  test.each(['README.md', ...DOCS])('%s closes every code fence it opens', (file) => {
    expect((read(file).match(/^\s*```/gm) ?? []).length % 2).toBe(0);
  });

  test.each(['README.md', ...DOCS])('every relative link in %s resolves to a file and a heading', (file) => {
    expect(brokenLinks(file, read(file), existsInRepo, read)).toEqual([]);
  });
});

// ---- Every command in a ```sh block of the owned docs.

/** One command of a doc, with `&&` chains split and trailing comments dropped. */
interface DocCommand {
  file: string;
  line: number;
  command: string;
}

export function shCommands(file: string, text: string): DocCommand[] {
  const out: DocCommand[] = [];
  const lines = text.split('\n');
  let inSh = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (/^\s*```/.test(line)) {
      inSh = !inSh && /^\s*```(sh|bash|shell)\s*$/.test(line);
      continue;
    }
    if (!inSh) continue;
    const code = line.replace(/(^|\s)#.*$/, '').trim();
    if (code === '') continue;
    for (const part of code.split('&&')) out.push({ file, line: i + 1, command: part.trim() });
  }
  return out;
}

const DEFAULT_BUILD = kustomizeBuild(join(ROOT, 'config', 'default'));
const PACKAGE = JSON.parse(read('package.json')) as { scripts: Record<string, string>; devDependencies: Record<string, string> };

const kubectlBinary = (): string | undefined => {
  const path = join(cacheDir(process.env, wrapperModuleDir()), 'kubectl');
  return existsSync(path) ? path : undefined;
};

/** `--flag` as a whole word of a help text (not the start of a longer flag). */
const flagPattern = (flag: string): RegExp => new RegExp(`${flag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w-])`);

/** Every `--flag` of a kubectl command is one `kubectl <subcommand> --help` lists. */
function expectKubectlFlags(words: string[]): void {
  const kubectl = kubectlBinary();
  if (kubectl === undefined) {
    if (process.env['CI'] === 'true') throw new Error('no control-plane kubectl in the cache: run `npm run control-plane -- binaries`');
    return;
  }
  const rest = words.filter((w, i) => !(w === '-n' || words[i - 1] === '-n'));
  const sub = rest.slice(0, ['rollout', 'create'].includes(rest[0] ?? '') ? 2 : 1);
  const help = spawnSync(kubectl, [...sub, '--help'], { encoding: 'utf8' });
  expect(help.status).toBe(0);
  for (const flag of words.filter((w) => w.startsWith('--')).map((w) => w.split('=')[0] as string)) expect(help.stdout).toMatch(flagPattern(flag));
}

/** Namespaces, Deployments and labels a kubectl command names are what config/default installs. */
function expectKubectlNames(words: string[]): void {
  const at = words.indexOf('-n');
  const namespace = at >= 0 ? words[at + 1] : undefined;
  if (namespace !== undefined) expect(DEFAULT_BUILD.some((o) => o.kind === 'Namespace' && o.metadata.name === namespace)).toBe(true);
  for (const w of words.filter((w) => w.startsWith('deploy/'))) {
    expect(DEFAULT_BUILD.some((o) => o.kind === 'Deployment' && o.metadata.name === w.slice('deploy/'.length) && o.metadata.namespace === namespace)).toBe(true);
  }
  if (words[0] === 'create' && words[1] === 'namespace') expect(DEFAULT_BUILD.some((o) => o.kind === 'Namespace' && o.metadata.name === words[2])).toBe(true);
  if (words[0] === 'label') {
    const label = words.find((w) => w.includes('=') && !w.startsWith('-')) ?? '';
    const [key, value] = label.split('=');
    expect(JSON.stringify(DEFAULT_BUILD)).toContain(`"${key}":"${value}"`);
  }
  if (words.includes('tenantisolations'))
    expect(DEFAULT_BUILD.some((o) => o.kind === 'CustomResourceDefinition' && (o as { spec?: { names?: { plural?: string } } }).spec?.names?.plural === 'tenantisolations')).toBe(
      true,
    );
}

interface Handler {
  /** Which commands it takes. */
  match: RegExp;
  /** Why it is checked rather than run, when it is not run. */
  notRun?: string;
  check: (words: string[], command: string) => Promise<void> | void;
}

/** Each entry takes the commands its pattern matches; the first that matches wins. */
const COMMANDS: Handler[] = [
  {
    match: /^npx netfence (render|check|matrix|explain|diff) (?!.*--live)/,
    check: async (words) => {
      const r = await runNetfence(words.slice(2));
      expect(r.stderr).not.toMatch(/error/i);
      expect(r.code).toBe(0);
    },
  },
  {
    match: /^npx netfence run /,
    notRun: 'the operator needs a cluster; test/integration/install.test.ts runs it as the Deployment does',
    check: async (words) => {
      const help = await runNetfence(['run', '--help']);
      expect(help.code).toBe(0);
      for (const flag of words.filter((w) => w.startsWith('--'))) expect(help.stdout).toMatch(flagPattern(flag.split('=')[0] as string));
    },
  },
  {
    match: /^npm ci$/,
    notRun: 'it reinstalls the node_modules every test shares',
    check: () => {
      expect(existsSync(join(ROOT, 'package-lock.json'))).toBe(true);
      // README: `npm ci` installs Node 24 into node_modules/.bin (the node@24 devDependency).
      expect(PACKAGE.devDependencies['node']).toMatch(/^24\./);
    },
  },
  {
    match: /^npm test$/,
    notRun: 'it is the suite this test belongs to',
    check: () => expect(PACKAGE.scripts['test']).toContain('npm run test:unit'),
  },
  {
    match: /^(?:[A-Z_]+=\S+ )?npm run [a-z:-]+/,
    notRun: 'the suites, benches and control plane take minutes; each script is checked to exist, and the control-plane subcommands to be the CLI’s',
    check: (words) => {
      const env = /^[A-Z_]+=/.test(words[0] ?? '') ? (words.shift() as string).split('=')[0] : undefined;
      if (env !== undefined) expect(read('test/integration/support/env.ts') + read('test/integration/global-setup.ts') + read('test/control-plane/cli.ts')).toContain(env);
      const script = words[2] as string;
      expect(Object.keys(PACKAGE.scripts)).toContain(script);
      if (script === 'control-plane') {
        const cli = read('test/control-plane/cli.ts');
        const args = words.slice(words.indexOf('--') + 1);
        expect(cli).toContain(`case '${args[0]}'`);
        for (const flag of args.filter((w) => w.startsWith('--'))) expect(cli).toContain(flag);
      }
    },
  },
  {
    match: /^export PATH="\$PWD\/node_modules\/\.bin:\$PATH"$/,
    notRun: 'it sets the environment of the lines after it',
    check: () => expect(existsSync(join(ROOT, 'node_modules/.bin/node'))).toBe(true),
  },
  {
    match: /^export KUBECONFIG=\$PWD\/\.control-plane\/admin\.kubeconfig$/,
    notRun: 'it sets the environment of the lines after it',
    check: () => expect(read('test/control-plane/control-plane.ts')).toContain("'admin.kubeconfig'"),
  },
  {
    match: /^kubectl /,
    notRun: 'it needs a cluster; test/integration/install.test.ts applies config/default on a real API server',
    check: (words) => {
      const args = words.slice(1);
      const k = args.indexOf('-k');
      if (k >= 0) expect(kustomizeBuild(join(ROOT, args[k + 1] as string)).length).toBeGreaterThan(0);
      expectKubectlNames(args);
      expectKubectlFlags(args);
    },
  },
];

describe('every command in the docs', () => {
  const commands = OWNED.flatMap((file) => shCommands(file, read(file)));

  test('are found: the README and the install, operate and contribute pages have commands', () => {
    for (const file of ['README.md', 'docs/installing.md', 'docs/operating.md', 'docs/contributing.md']) expect(commands.some((c) => c.file === file)).toBe(true);
    expect(shCommands('x.md', '```sh\na && b   # c\n# d\n```\n```yaml\ne\n```\n')).toEqual([
      { file: 'x.md', line: 2, command: 'a' },
      { file: 'x.md', line: 2, command: 'b' },
    ]);
  });

  test('each is run or checked by one entry of COMMANDS', () => {
    const unhandled = commands.filter((c) => !COMMANDS.some((h) => h.match.test(c.command))).map((c) => `${c.file}:${c.line}: ${c.command}`);
    expect(unhandled).toEqual([]);
    for (const h of COMMANDS) if (!h.match.source.startsWith('^npx netfence (render')) expect(h.notRun).toBeTruthy();
  });

  test.each(commands.map((c) => [`${c.file}:${c.line}`, c.command] as const))('%s: %s', async (_at, command) => {
    const handler = COMMANDS.find((h) => h.match.test(command));
    if (handler === undefined) throw new Error(`no entry of COMMANDS handles: ${command}`);
    await handler.check(command.split(/\s+/), command);
  });
});

describe('what the docs state', () => {
  test('one Kubernetes minimum, 1.33, the one src/api/schema.ts assumes', () => {
    expect(read('src/api/schema.ts')).toContain('Assumptions: Kubernetes 1.33 or later');
    expect(read('docs/installing.md')).toContain('Kubernetes 1.33 or later');
    const stated = OWNED.flatMap((file) => [...read(file).matchAll(/Kubernetes (1\.\d+)\s+or later/g)].map((m) => m[1]));
    expect(new Set(stated)).toEqual(new Set(['1.33']));
  });
});
