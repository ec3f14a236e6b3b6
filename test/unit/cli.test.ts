import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { NetworkPolicy } from '../../src/api/k8s.js';
import { parseArgs } from '../../src/cli/args.js';
import { INPUT_FLAGS } from '../../src/cli/common.js';
import { runCli } from '../../src/cli/main.js';
import { runNetfence } from '../fixtures/cli.js';

const TWO_TENANTS = join(process.cwd(), 'examples', 'two-tenants');

function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'netfence-cli-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const TENANT = `apiVersion: netfence.dev/v1alpha1
kind: TenantIsolation
metadata:
  name: acme
spec: {}
---
apiVersion: v1
kind: Namespace
metadata:
  name: acme-1
  labels: {netfence.dev/tenant: acme}
`;

describe('netfence render', () => {
  test('prints multi-document YAML sorted by namespace then name', async () => {
    const run = await runNetfence(['render', '-f', TWO_TENANTS]);
    expect(run.code).toBe(0);
    const docs = parseAllDocuments(run.stdout).map((d) => (Array.isArray(d) ? null : (d.toJS() as unknown))) as NetworkPolicy[];
    const keys = docs.map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
    expect(keys).toEqual([
      'acme-db/netfence-allow-dns',
      'acme-db/netfence-allow-same-tenant',
      'acme-db/netfence-default-deny',
      'acme-web/netfence-allow-dns',
      'acme-web/netfence-allow-same-tenant',
      'acme-web/netfence-default-deny',
      'globex-api/netfence-allow-dns',
      'globex-api/netfence-allow-same-tenant',
      'globex-api/netfence-default-deny',
    ]);
  });

  test('prints one summary line on standard error, not one per tenant', async () => {
    const run = await runNetfence(['render', '-f', TWO_TENANTS]);
    expect(run.stderr).toBe('netfence render: 2 tenants, 3 member namespaces, 9 policies, 0 warnings\n');
  });

  test('keeps standard error to one line for 300 tenants', async () => {
    const input = Array.from({ length: 300 }, (_, i) => TENANT.replaceAll('acme', `t${i}`)).join('---\n');
    const run = await runNetfence(['render', '-f', '-'], input);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('netfence render: 300 tenants, 300 member namespaces, 900 policies, 0 warnings\n');
  });

  test('with --verbose prints one line per tenant before the summary', async () => {
    const run = await runNetfence(['render', '-f', TWO_TENANTS, '--verbose']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe(
      [
        'tenant acme (Enforce): 2 member namespace(s), 6 policies',
        'tenant globex (Enforce): 1 member namespace(s), 3 policies',
        'netfence render: 2 tenants, 3 member namespaces, 9 policies, 0 warnings',
        '',
      ].join('\n'),
    );
  });

  test('still prints every warning, counts them in the summary, and notes ignored kinds and Audit tenants', async () => {
    const input = `${TENANT}---
apiVersion: netfence.dev/v1alpha1
kind: TenantIsolation
metadata: {name: other}
spec: {namespaces: [acme-1]}
---
apiVersion: netfence.dev/v1alpha1
kind: TenantIsolation
metadata: {name: watch}
spec: {mode: Audit, namespaces: [watch-1]}
---
apiVersion: v1
kind: Namespace
metadata: {name: watch-1}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: watch-1}
`;
    const run = await runNetfence(['render', '-f', '-'], input);
    expect(run.code).toBe(0);
    expect(run.stderr.split('\n')).toEqual([
      'warning: tenant acme: namespace acme-1 is claimed by tenants acme, other: deny-only',
      'warning: tenant other: namespace acme-1 is claimed by tenants acme, other: deny-only',
      'note: ignored 1 v1/ConfigMap object(s)',
      'netfence render: 3 tenants (1 Audit: 3 policies planned, none written), 1 member namespace, 1 namespace claimed by several tenants (deny-only), 1 policy, 2 warnings',
      '',
    ]);
    const verbose = await runNetfence(['render', '-f', '-', '--verbose'], input);
    expect(verbose.stderr).toContain('tenant acme (Enforce): 0 member namespace(s), 0 policies\n  warning: namespace acme-1 is claimed by tenants acme, other: deny-only\n');
    expect(verbose.stderr).toContain('tenant watch (Audit): 1 member namespace(s), 3 policies planned, none written (Audit)\n');
  });

  test('prints the same policies as a v1 List with -o json', async () => {
    const yaml = await runNetfence(['render', '-f', TWO_TENANTS]);
    const json = await runNetfence(['render', '-f', TWO_TENANTS, '-o', 'json']);
    const list = JSON.parse(json.stdout) as { kind: string; items: unknown[] };
    expect(list.kind).toBe('List');
    expect(list.items).toEqual(parseAllDocuments(yaml.stdout).map((d) => (Array.isArray(d) ? null : (d.toJS() as unknown))));
  });

  test('reads standard input with -f -', async () => {
    const run = await runNetfence(['render', '-f', '-'], TENANT);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('namespace: acme-1');
  });

  test('renders byte-identical output twice, whatever the order of the files', async () => {
    const a = tempFile('a.yaml', readFileSync(join(TWO_TENANTS, 'tenants.yaml'), 'utf8'));
    const b = tempFile('b.yaml', readFileSync(join(TWO_TENANTS, 'namespaces.yaml'), 'utf8'));
    const one = await runNetfence(['render', '-f', a, '-f', b]);
    const two = await runNetfence(['render', '-f', b, '-f', a]);
    expect(one.code).toBe(0);
    expect(two.stdout).toBe(one.stdout);
  });

  test('reads a v1 List of objects', async () => {
    const list = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n', labels: { 'netfence.dev/tenant': 't' } } },
        { apiVersion: 'netfence.dev/v1alpha1', kind: 'TenantIsolation', metadata: { name: 't' }, spec: {} },
      ],
    });
    const run = await runNetfence(['render', '-f', tempFile('list.json', list)]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('namespace: "n"\n'); // quoted: kubectl's YAML 1.1 reader takes a plain n for false;
  });

  test('applies the DNS settings flags', async () => {
    const run = await runNetfence(['render', '-f', '-', '--dns-namespace', 'dns', '--dns-selector', 'app=coredns', '--dns-port', '5353'], TENANT);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('kubernetes.io/metadata.name: dns\n');
    expect(run.stdout).toContain('app: coredns');
    expect(run.stdout).toContain('port: 5353');
  });

  test('reports a conflict on standard error and renders the namespace deny-only', async () => {
    const input = `${TENANT}---
apiVersion: netfence.dev/v1alpha1
kind: TenantIsolation
metadata: {name: other}
spec: {namespaces: [acme-1]}
`;
    const run = await runNetfence(['render', '-f', '-'], input);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('namespace acme-1 is claimed by tenants acme, other: deny-only');
    expect(run.stdout.match(/^kind: NetworkPolicy$/gm)).toHaveLength(1);
  });

  test('warns when a hand-written policy already holds a generated name', async () => {
    const input = `${TENANT}---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: netfence-default-deny, namespace: acme-1}
spec: {podSelector: {}}
`;
    const run = await runNetfence(['render', '-f', '-'], input);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('NetworkPolicy acme-1/netfence-default-deny (<stdin>:13) has a name netfence generates but is not managed by netfence');
    expect(run.stderr).toMatch(/, 1 warning\n$/);
  });
});

describe('netfence render on bad input exits 2, names file and line, and prints nothing on stdout', () => {
  test.each([
    ['a YAML syntax error', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: [x\n', /bad\.yaml:\d+: YAML syntax/],
    [
      'an unknown field in a TenantIsolation',
      'apiVersion: netfence.dev/v1alpha1\nkind: TenantIsolation\nmetadata:\n  name: t\nspec:\n  ingres: {}\n',
      /bad\.yaml:6: TenantIsolation t: unknown field "spec.ingres"/,
    ],
    [
      'a CIDR that does not parse',
      'apiVersion: netfence.dev/v1alpha1\nkind: TenantIsolation\nmetadata:\n  name: t\nspec:\n  egress:\n    to:\n      - cidr: 10.0.0.0/33\n',
      /bad\.yaml:8: TenantIsolation t: spec\.egress\.to\[0\]\.cidr/,
    ],
    [
      'a wrong TenantIsolation apiVersion',
      'apiVersion: netfence.dev/v1\nkind: TenantIsolation\nmetadata:\n  name: t\n',
      /bad\.yaml:1: TenantIsolation must have apiVersion netfence\.dev\/v1alpha1/,
    ],
    ['a document that is not an object', '- a\n- b\n', /bad\.yaml:1: expected a Kubernetes object/],
    ['a document without kind', 'apiVersion: v1\nmetadata: {name: x}\n', /bad\.yaml:1: not a Kubernetes object/],
    ['a pod without a namespace', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n', /bad\.yaml:3: Pod p: metadata\.namespace is required/],
    [
      'an object defined twice',
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n',
      /bad\.yaml:5: Namespace x is defined twice \(first at .*bad\.yaml:1\)/,
    ],
  ])('%s', async (_what, text, message) => {
    const run = await runNetfence(['render', '-f', tempFile('bad.yaml', text)]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
  });

  test('a missing file', async () => {
    const run = await runNetfence(['render', '-f', '/nonexistent/netfence.yaml']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('/nonexistent/netfence.yaml: no such file or directory');
  });

  test('one bad file among good ones renders nothing', async () => {
    const bad = tempFile('bad.yaml', 'apiVersion: netfence.dev/v1alpha1\nkind: TenantIsolation\nmetadata: {name: t}\nspec: {mode: Sometimes}\n');
    const run = await runNetfence(['render', '-f', TWO_TENANTS, '-f', bad]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/bad\.yaml:4: TenantIsolation t: spec\.mode/);
  });

  test.each([
    [['render'], 'no input'],
    [['render', '-f', TWO_TENANTS, '-o', 'xml'], '--output must be yaml or json'],
    [['render', '--bogus'], 'unknown flag --bogus'],
    [['render', '-f', TWO_TENANTS, '--dns-port', 'x'], '--dns-port'],
    [['frobnicate'], 'unknown command "frobnicate"'],
  ])('bad usage %j', async (argv, message) => {
    const run = await runNetfence(argv);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });
});

describe('netfence flags, as kubectl takes them', () => {
  const specs = [...INPUT_FLAGS, { name: 'output', short: 'o', value: true }, { name: 'help', short: 'h', value: false }];

  test.each([[['-f', 'a.yaml', '-o', 'json']], [['-f=a.yaml', '-o=json']], [['-fa.yaml', '-ojson']], [['--filename', 'a.yaml', '--output=json']]])(
    'a short flag takes its value as the next argument, after = or attached: %j',
    (argv) => {
      const args = parseArgs(argv, specs);
      expect(Object.fromEntries(args.flags)).toEqual({ filename: ['a.yaml'], output: ['json'] });
      expect(args.positionals).toEqual([]);
    },
  );

  test('an attached value is kept whole, = and all, when it does not start with =', () => {
    expect(parseArgs(['-fdir=x/a.yaml', '-f=-'], specs).flags.get('filename')).toEqual(['dir=x/a.yaml', '-']);
  });

  test('a short switch stands alone: -h works, -hx and -h=1 are refused', () => {
    expect(parseArgs(['-h'], specs).switches.has('help')).toBe(true);
    expect(() => parseArgs(['-hx'], specs)).toThrow('unknown flag -hx');
    expect(() => parseArgs(['-h=1'], specs)).toThrow('--help takes no value');
    expect(() => parseArgs(['-x'], specs)).toThrow('unknown flag -x');
    expect(() => parseArgs(['-o'], specs)).toThrow('--output needs a value');
  });

  test('render -f=DIR -ojson prints what render -f DIR -o json prints', async () => {
    const spaced = await runNetfence(['render', '-f', TWO_TENANTS, '-o', 'json']);
    const attached = await runNetfence(['render', `-f=${TWO_TENANTS}`, '-ojson']);
    const glued = await runNetfence(['render', `-f${TWO_TENANTS}`, '-o=json']);
    expect(spaced.code).toBe(0);
    expect(attached).toEqual(spaced);
    expect(glued).toEqual(spaced);
  });
});

describe('netfence --help', () => {
  const COMMANDS = ['run', 'render', 'check', 'diff', 'matrix', 'explain', 'version'];

  test('lists each command exactly once, version included, and nothing else', async () => {
    const run = await runNetfence(['--help']);
    expect(run.code).toBe(0);
    const listed = run.stdout
      .split('\n')
      .filter((l) => /^ {2}[a-z]+ {2,}/.test(l))
      .map((l) => l.trim().split(/\s+/)[0]);
    expect(listed).toEqual(COMMANDS);
    for (const name of COMMANDS) expect(run.stdout.match(new RegExp(`^  ${name} `, 'gm'))).toHaveLength(1);
  });

  test('is bad usage without a command: exit 2, the usage on standard error, nothing on standard output', async () => {
    const run = await runNetfence([]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^netfence: no command given\nUsage: netfence COMMAND/);
  });

  test('states the exit codes 0, 1, 2 and 3', async () => {
    const run = await runNetfence(['--help']);
    expect(run.stdout.replace(/\n/g, ' ')).toContain('Exit codes: 0 fine, 1 a violation found (explain: the path is denied), 2 bad usage or bad input, 3 an internal error');
  });

  test.each(COMMANDS)('every listed command is one: netfence %s --help exits 0', async (name) => {
    const run = await runNetfence([name, '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^Usage: netfence ${name}\\b`));
  });
});

describe('netfence version', () => {
  const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

  test.each([[['--version']], [['version']]])('%j prints netfence and the version in package.json', async (argv) => {
    const run = await runNetfence(argv);
    expect(run).toEqual({ code: 0, stdout: `netfence ${version}\n`, stderr: '' });
  });

  test('refuses an argument with exit 2', async () => {
    const run = await runNetfence(['version', 'extra']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('netfence version: unexpected argument "extra"');
  });
});

describe('an internal error', () => {
  /** Streams whose standard output throws a plain Error, as a bug would. */
  function failingIO(thrown: unknown): { io: Parameters<typeof runCli>[1]; stderr: () => string } {
    let stderr = '';
    return {
      io: {
        stdout: () => {
          throw thrown;
        },
        stderr: (t) => {
          stderr += t;
        },
        readStdin: () => '',
      },
      stderr: () => stderr,
    };
  }

  test('exits 3 with one line on standard error and no stack', async () => {
    const { io, stderr } = failingIO(new Error('injected failure'));
    expect(await runCli(['render', '-f', TWO_TENANTS], io, {})).toBe(3);
    expect(stderr()).toBe('netfence render: internal error: injected failure (NETFENCE_DEBUG=1 shows the stack)\n');
  });

  test('exits 3 when standard input cannot be read, with one line', async () => {
    let stderr = '';
    const io = {
      stdout: () => {},
      stderr: (t: string) => (stderr += t),
      readStdin: (): string => {
        throw new Error('stdin exploded');
      },
    };
    expect(await runCli(['render', '-f', '-'], io, {})).toBe(3);
    expect(stderr.split('\n')).toHaveLength(2);
    expect(stderr).toMatch(/^netfence render: internal error: .*stdin exploded.* \(NETFENCE_DEBUG=1 shows the stack\)\n$/);
  });

  test('keeps a message of several lines, or a thrown non-Error, on one line', async () => {
    const lines = failingIO(new Error('first\n  second'));
    expect(await runCli(['version'], lines.io, {})).toBe(3);
    expect(lines.stderr()).toBe('netfence version: internal error: first second (NETFENCE_DEBUG=1 shows the stack)\n');
    const odd = failingIO('a string');
    expect(await runCli(['--version'], odd.io, {})).toBe(3);
    expect(odd.stderr()).toBe('netfence --version: internal error: a string (NETFENCE_DEBUG=1 shows the stack)\n');
  });

  test('with NETFENCE_DEBUG=1 prints the stack after the line', async () => {
    const { io, stderr } = failingIO(new Error('injected failure'));
    expect(await runCli(['render', '-f', TWO_TENANTS], io, { NETFENCE_DEBUG: '1' })).toBe(3);
    const [first, second, third] = stderr().split('\n');
    expect(first).toBe('netfence render: internal error: injected failure');
    expect(second).toBe('Error: injected failure');
    expect(third).toMatch(/^ {4}at /);
  });

  test('bad usage and bad input still exit 2, not 3', async () => {
    expect((await runNetfence(['render', '-f', '/nonexistent/netfence.yaml'])).code).toBe(2);
    expect((await runNetfence(['render', '-q'])).code).toBe(2);
  });
});

describe('netfence explain exit status', () => {
  test('exits 0 when the verdict is allowed', async () => {
    const run = await runNetfence(['explain', '-f', TWO_TENANTS, 'acme-web/web', 'acme-db/db', '--port', '5432']);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('verdict: allowed');
    expect(run.code).toBe(0);
  });

  test('exits 1 when the verdict is denied', async () => {
    const run = await runNetfence(['explain', '-f', TWO_TENANTS, 'acme-web/web', 'globex-api/api', '--port', '8080']);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('verdict: denied');
    expect(run.code).toBe(1);
  });

  test('exits 2 on bad input, with nothing on standard output', async () => {
    const run = await runNetfence(['explain', '-f', TWO_TENANTS, 'acme-web/nope', 'globex-api/api']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
  });

  test('says so in its --help', async () => {
    const run = await runNetfence(['explain', '--help']);
    expect(run.stdout.replace(/\n/g, ' ')).toContain('Exit status, for scripts: 0 allowed, 1 denied, 2 bad usage or bad input (an unknown pod, a bad port), 3 an internal error.');
  });
});
