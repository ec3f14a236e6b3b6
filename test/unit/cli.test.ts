import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
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
    const docs = parseAllDocuments(run.stdout).map((d) => (Array.isArray(d) ? null : d.toJS()));
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
    expect(run.stderr).toContain('tenant acme (Enforce): 2 member namespace(s), 6 policies');
  });

  test('prints the same policies as a v1 List with -o json', async () => {
    const yaml = await runNetfence(['render', '-f', TWO_TENANTS]);
    const json = await runNetfence(['render', '-f', TWO_TENANTS, '-o', 'json']);
    const list = JSON.parse(json.stdout);
    expect(list.kind).toBe('List');
    expect(list.items).toEqual(parseAllDocuments(yaml.stdout).map((d) => (Array.isArray(d) ? null : d.toJS())));
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
    const list = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n', labels: { 'netfence.dev/tenant': 't' } } }, { apiVersion: 'netfence.dev/v1alpha1', kind: 'TenantIsolation', metadata: { name: 't' }, spec: {} }] });
    const run = await runNetfence(['render', '-f', tempFile('list.json', list)]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('namespace: n\n');
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
  });
});

describe('netfence render on bad input exits 2, names file and line, and prints nothing on stdout', () => {
  test.each([
    ['a YAML syntax error', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: [x\n', /bad\.yaml:\d+: YAML syntax/],
    ['an unknown field in a TenantIsolation', 'apiVersion: netfence.dev/v1alpha1\nkind: TenantIsolation\nmetadata:\n  name: t\nspec:\n  ingres: {}\n', /bad\.yaml:6: TenantIsolation t: unknown field "spec.ingres"/],
    ['a CIDR that does not parse', 'apiVersion: netfence.dev/v1alpha1\nkind: TenantIsolation\nmetadata:\n  name: t\nspec:\n  egress:\n    to:\n      - cidr: 10.0.0.0/33\n', /bad\.yaml:8: TenantIsolation t: spec\.egress\.to\[0\]\.cidr/],
    ['a wrong TenantIsolation apiVersion', 'apiVersion: netfence.dev/v1\nkind: TenantIsolation\nmetadata:\n  name: t\n', /bad\.yaml:1: TenantIsolation must have apiVersion netfence\.dev\/v1alpha1/],
    ['a document that is not an object', '- a\n- b\n', /bad\.yaml:1: expected a Kubernetes object/],
    ['a document without kind', 'apiVersion: v1\nmetadata: {name: x}\n', /bad\.yaml:1: not a Kubernetes object/],
    ['a pod without a namespace', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n', /bad\.yaml:4: Pod p: metadata\.namespace is required/],
    ['an object defined twice', 'apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n', /bad\.yaml:5: Namespace x is defined twice \(first at .*bad\.yaml:1\)/],
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
