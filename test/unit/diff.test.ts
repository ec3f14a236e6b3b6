/** `netfence diff`: what a change opens and closes (the pure diff of two scenes, and the command). */
import fc from 'fast-check';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { NetworkPolicy, Protocol } from '../../src/api/k8s.js';
import type { TenantIsolationSpec } from '../../src/api/types.js';
import { findViolations } from '../../src/analysis/check.js';
import { diffScenes, type DiffChange, type DiffEnd } from '../../src/analysis/diff.js';
import { buildScene, type Scene } from '../../src/analysis/scene.js';
import { loadScene } from '../../src/cli/scene.js';
import { defaultSettings } from '../../src/compiler/settings.js';
import { cidrContainsIP, parseCidr, parseIP, type Cidr, type IP } from '../../src/core/cidr.js';
import type { Endpoint } from '../../src/evaluator/endpoint.js';
import { runNetfence } from '../fixtures/cli.js';
import { clusterArb, specArb, type Cluster } from '../fixtures/tenant-cluster-arbitrary.js';

// ---- Manifests on disk, for the command.

const tenant = (name: string, spec: TenantIsolationSpec): unknown => ({ apiVersion: 'netfence.dev/v1alpha1', kind: 'TenantIsolation', metadata: { name }, spec });
const namespace = (name: string): unknown => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
const policy = (ns: string, name: string, spec: NetworkPolicy['spec']): NetworkPolicy => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { namespace: ns, name },
  spec,
});
const fromNs = (name: string) => ({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } } });

/** ns-1 (in no tenant) may call t3-a on TCP `port`-`endPort` by a hand-written policy. */
const OPEN = (endPort?: number): NetworkPolicy =>
  policy('t3-a', 'open', {
    podSelector: {},
    policyTypes: ['Ingress'],
    ingress: [{ from: [fromNs('ns-1')], ports: [endPort === undefined ? { port: 80 } : { port: 80, endPort }] }],
  });

/** Tenants t1 (t1-a, t1-b) and t3 (t3-a), ns-1 in no tenant; no pods. */
function cluster(t3: TenantIsolationSpec = {}, t1: TenantIsolationSpec = {}, extra: unknown[] = []): unknown[] {
  return [tenant('t1', { namespaces: ['t1-a', 't1-b'], ...t1 }), tenant('t3', { namespaces: ['t3-a'], ...t3 }), ...['t1-a', 't1-b', 't3-a', 'ns-1'].map(namespace), ...extra];
}

/** A folder holding the objects as one YAML stream. */
function folder(objects: unknown[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'netfence-diff-'));
  writeFileSync(join(dir, 'all.yaml'), objects.map((o) => stringify(o)).join('---\n'));
  return dir;
}

const diffOf = (base: unknown[], head: unknown[], ...flags: string[]) => runNetfence(['diff', '--base', folder(base), '--head', folder(head), ...flags]);

/** The lines of a section (`opens:` or `closes:`) of the text output. */
function section(stdout: string, name: 'opens' | 'closes'): string[] {
  const lines = stdout.split('\n');
  const start = lines.indexOf(`${name}:`);
  if (start < 0) return [];
  const end = lines.indexOf('', start);
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

describe('netfence diff', () => {
  test('a head that opens a tenant undeclared fails and names the path, its ports and the policy', async () => {
    const run = await diffOf(cluster(), cluster({}, {}, [OPEN()]));
    expect(run.stdout.split('\n')[1]).toBe('1 change opens (1 FAIL), 0 close');
    expect(section(run.stdout, 'opens')).toEqual(['  FAIL   opens tenant t3 ingress from ns-1 to t3-a on TCP 80, undeclared (ingress: t3-a/open)']);
    expect(section(run.stdout, 'closes')).toEqual([]);
    expect(run.code).toBe(1);
  });

  test('the same change the other way round only closes: exit 0, what closed and what allowed it in the base', async () => {
    const run = await diffOf(cluster({}, {}, [OPEN()]), cluster());
    expect(run.stdout.split('\n')[1]).toBe('0 changes open, 1 closes');
    expect(section(run.stdout, 'opens')).toEqual([]);
    expect(section(run.stdout, 'closes')).toEqual(['         closes tenant t3 ingress from ns-1 to t3-a on TCP 80, undeclared (in the base, ingress: t3-a/open)']);
    expect(run.code).toBe(0);
  });

  test('a declaration removed closes both fences of the path, each with the generated policies of its side', async () => {
    const declared = cluster({ ingress: { from: [{ tenant: 't1', ports: [{ port: 8443 }] }] } }, { egress: { to: [{ tenant: 't3', ports: [{ port: 8443 }] }] } });
    const run = await diffOf(declared, cluster({}, { egress: { to: [{ tenant: 't3', ports: [{ port: 8443 }] }] } }));
    const closes = section(run.stdout, 'closes');
    expect(closes).toEqual([
      '         closes tenant t1 egress from t1-a, t1-b to t3-a on TCP 8443, declared (in the base, egress: netfence-allow-egress in each source namespace)',
      '         closes tenant t3 ingress from t1-a, t1-b to t3-a on TCP 8443, declared (in the base, ingress: t3-a/netfence-allow-ingress)',
    ]);
    expect(run.code).toBe(0);
  });

  test('a head that widens a violation the base has fails on the new ports only', async () => {
    const run = await diffOf(cluster({}, {}, [OPEN()]), cluster({}, {}, [OPEN(82)]));
    expect(section(run.stdout, 'opens')).toEqual(['  FAIL   opens tenant t3 ingress from ns-1 to t3-a on TCP 81-82, undeclared (ingress: t3-a/open)']);
    expect(run.code).toBe(1);
  });

  test('the same input on both sides is no change, exit 0', async () => {
    const objects = cluster({ ingress: { from: [{ tenant: 't1' }] } }, {}, [OPEN()]);
    const run = await diffOf(objects, objects);
    expect(run.stdout.split('\n').slice(1, 2)).toEqual(['no change: the head allows what the base allows, across the same fences']);
    expect(run.code).toBe(0);
  });

  test('a path kept open whose declaration is removed fails as undeclared now; put back, it is declared now', async () => {
    const declared = cluster({ ingress: { from: [{ namespaces: ['ns-1'], ports: [{ port: 80 }] }] } }, {}, [OPEN()]);
    const undeclared = cluster({}, {}, [OPEN()]);
    const removed = await diffOf(declared, undeclared);
    expect(removed.stdout.split('\n')[1]).toBe('1 change opens (1 FAIL), 0 close');
    expect(section(removed.stdout, 'opens')).toEqual(['  FAIL   keeps tenant t3 ingress from ns-1 to t3-a on TCP 80 open, undeclared now (ingress: t3-a/open)']);
    expect(removed.code).toBe(1);
    const restored = await diffOf(undeclared, declared);
    expect(section(restored.stdout, 'closes')).toEqual([
      expect.stringMatching(/^ {9}keeps tenant t3 ingress from ns-1 to t3-a on TCP 80 open, declared now \(ingress: t3-a\/netfence-[a-z0-9-]+, t3-a\/open\)$/),
    ]);
    expect(restored.code).toBe(0);
  });

  test('an Audit tenant that opens is listed as AUDIT and does not fail', async () => {
    const run = await diffOf(cluster(), cluster({ mode: 'Audit' }));
    const opens = section(run.stdout, 'opens');
    expect(opens.length).toBeGreaterThan(0);
    expect(opens.every((l) => l.startsWith('  AUDIT  opens tenant t3 ') || l.startsWith('         opens tenant t3 '))).toBe(true);
    expect(opens).toContain('  AUDIT  opens tenant t3 ingress from ns-1, any address outside the cluster to t3-a on any, undeclared (ingress: no policy selects the pods)');
    expect(opens).toContain('  AUDIT  opens tenant t3 egress from t3-a to ns-1, any address outside the cluster on any, undeclared (egress: no policy selects the pods)');
    expect(run.code).toBe(0);
  });

  test('a tenant turned from Audit to Enforce with a hand-written opening fails as Enforce now; back to Audit, Audit now', async () => {
    const audit = cluster({ mode: 'Audit' }, {}, [OPEN()]);
    const enforce = cluster({}, {}, [OPEN()]);
    const enforced = await diffOf(audit, enforce);
    expect(section(enforced.stdout, 'opens').filter((l) => l.startsWith('  FAIL'))).toEqual([
      '  FAIL   keeps tenant t3 ingress from ns-1 to t3-a on TCP 80 open, undeclared, Enforce now (ingress: t3-a/open)',
    ]);
    expect(enforced.code).toBe(1);
    const relaxed = await diffOf(enforce, audit);
    expect(section(relaxed.stdout, 'closes')).toContain('         keeps tenant t3 ingress from ns-1 to t3-a on TCP 80 open, undeclared, Audit now (ingress: t3-a/open)');
    expect(relaxed.code).toBe(0);
  });

  test('ranges outside the cluster are compared cut the same way on both sides: an ipBlock that changes no path is no change', async () => {
    const egress = (to: NonNullable<NetworkPolicy['spec']['egress']>) => policy('ns-1', 'out', { podSelector: {}, policyTypes: ['Egress'], egress: to });
    const base = cluster({}, {}, [egress([{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }])]);
    const head = cluster({}, {}, [egress([{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }, { to: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 80 }] }])]);
    const run = await diffOf(base, head);
    expect(run.stdout.split('\n')[1]).toBe('no change: the head allows what the base allows, across the same fences');
    const narrowed = await diffOf(base, cluster({}, {}, [egress([{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }] }])]));
    expect(section(narrowed.stdout, 'closes')).toEqual(['         closes outside tenants from ns-1 to addresses 10.0.0.0/8 on any (in the base, egress: ns-1/out)']);
  });

  test('a declared CIDR peer of every address opens to any address outside the cluster but cloud metadata', async () => {
    const run = await diffOf(cluster(), cluster({}, { egress: { to: [{ cidr: '0.0.0.0/0' }, { cidr: '::/0' }] } }));
    expect(section(run.stdout, 'opens')).toEqual([
      '         opens tenant t1 egress from t1-a, t1-b to any address outside the cluster but cloud metadata on any, declared (egress: netfence-allow-egress in each source namespace)',
    ]);
    expect(run.code).toBe(0);
  });

  test('a namespace that joins the tenant an undeclared path went to keeps the path open, no longer across that fence', async () => {
    const out = policy('t1-a', 'out', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [fromNs('ns-1')] }] });
    const run = await diffOf(cluster({}, {}, [out]), cluster({}, { namespaces: ['t1-a', 't1-b', 'ns-1'] }, [out]));
    // Joining opens the tenant's own paths and closes ns-1 to the rest; t1-a -> ns-1 stays open, now within the tenant.
    expect(section(run.stdout, 'opens')).toEqual([
      '         opens within tenant t1 from ns-1 to t1-a, t1-b on any (egress: ns-1/netfence-allow-same-tenant; ingress: netfence-allow-same-tenant in each destination namespace)',
      '         opens within tenant t1 from t1-b to ns-1 on any (egress: t1-b/netfence-allow-same-tenant; ingress: ns-1/netfence-allow-same-tenant)',
    ]);
    expect(section(run.stdout, 'closes')).toEqual([
      '         keeps tenant t1 egress from t1-a to ns-1 on any open, not across this fence now (egress: t1-a/netfence-allow-same-tenant, t1-a/out)',
      '         closes outside tenants from any address outside the cluster to ns-1 on any (in the base, ingress: no policy selects the pods)',
      '         closes outside tenants from ns-1 to any address outside the cluster on any (in the base, egress: no policy selects the pods)',
    ]);
    expect(run.code).toBe(0);
  });

  test('a namespace that joins a tenant declaring the paths it already had changes nothing on them', async () => {
    const t3 = { ingress: { from: [{ namespaces: ['ns-1'], ports: [{ port: 80 }] }] } };
    const run = await diffOf(cluster(t3), cluster(t3, { namespaces: ['t1-a', 't1-b', 'ns-1'], egress: { to: [{ tenant: 't3', ports: [{ port: 80 }] }] } }));
    expect(run.stdout).toContain('opens within tenant t1 from ns-1 to t1-a, t1-b');
    expect(run.stdout).not.toContain('to t3-a');
  });

  test('compares namespaces, not pods: a port one more pod of a namespace gains, where another pod of it had it, is no change', async () => {
    const pods = ['a', 'b'].map((name) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'ns-1', name, labels: { app: name } } }));
    const from = (podSelector: object): NetworkPolicy =>
      policy('t3-a', 'open', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ ...fromNs('ns-1'), podSelector }], ports: [{ port: 80 }] }] });
    const base = cluster({}, {}, [...pods, from({ matchLabels: { app: 'b' } })]);
    const head = cluster({}, {}, [...pods, from({})]);
    const run = await diffOf(base, head);
    expect(run.stdout.split('\n')[1]).toBe('no change: the head allows what the base allows, across the same fences');
    expect(run.code).toBe(0);
    // check's analysis judges the pods: ns-1/a crosses undeclared in the head only.
    const crossing = async (objects: unknown[]): Promise<string[]> => {
      const { scene } = await loadScene(
        { flags: new Map([['filename', [folder(objects)]]]), switches: new Set(), positionals: [] },
        { stdout: () => {}, stderr: () => {}, readStdin: () => '' },
      );
      return findViolations(scene.reach, scene.fences)
        .flatMap((v) => v.from.pods.map((p) => `${p.namespace}/${p.name}`))
        .sort();
    };
    expect(await crossing(base)).not.toContain('ns-1/a');
    expect(await crossing(head)).toContain('ns-1/a');
  });

  test('a cause names the policies and, when some pods of the namespace are not selected, says so', async () => {
    const pods = ['web', 'db'].map((name) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 't3-a', name, labels: { app: name } } }));
    const denyAll = policy('t3-a', 'deny', { podSelector: {}, policyTypes: ['Ingress'] });
    const webOnly = policy('t3-a', 'web', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [{ from: [fromNs('ns-1')], ports: [{ port: 80 }] }] });
    const run = await diffOf(cluster({ mode: 'Audit' }, {}, [...pods, denyAll]), cluster({ mode: 'Audit' }, {}, [...pods, webOnly]));
    expect(section(run.stdout, 'opens')).toContain('  AUDIT  opens tenant t3 ingress from ns-1 to t3-a on any, undeclared (ingress: t3-a/web, pods no policy selects)');
  });

  test('settings flags apply to both sides', async () => {
    const dns = (ns: string): unknown => ({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: ns, name: 'dns', labels: { 'k8s-app': 'kube-dns' } } });
    const objects = cluster({}, {}, [namespace('kube-system'), namespace('dns'), dns('kube-system'), dns('dns')]);
    const run = await diffOf(objects, objects, '--dns-namespace', 'dns');
    expect(run.stdout.split('\n')[1]).toBe('no change: the head allows what the base allows, across the same fences');
    expect(run.code).toBe(0);
    // Not vacuous: the flag changes the policies.
    const dir = folder(objects);
    expect((await runNetfence(['render', '-f', dir, '--dns-namespace', 'dns'])).stdout).not.toBe((await runNetfence(['render', '-f', dir])).stdout);
  });

  test('-o json: every change with its fence, ends, ports and policies', async () => {
    const run = await diffOf(cluster(), cluster({}, {}, [OPEN()]), '-o', 'json');
    const out = JSON.parse(run.stdout) as { failed: boolean; paths: unknown; changes: unknown[]; base: { counts: { policies: number } }; head: { counts: { policies: number } } };
    expect(out.failed).toBe(true);
    expect(out.paths).toEqual({ opened: 1, closed: 0, refenced: 0, failing: 1 });
    expect(out.head.counts.policies - out.base.counts.policies).toBe(1);
    expect(out.changes).toEqual([
      {
        section: 'opens',
        reach: 'opened',
        scope: { kind: 'crossing', tenant: 't3', direction: 'ingress' },
        before: null,
        after: 'violation',
        failing: true,
        from: [{ namespace: 'ns-1' }],
        to: [{ namespace: 't3-a' }],
        ports: 'TCP 80',
        ingress: { policies: ['open'], unrestricted: false },
      },
    ]);
    expect(run.code).toBe(1);
  });

  test('bad input is exit 2 naming the side, the file and the line', async () => {
    const head = folder([]);
    writeFileSync(join(head, 'broken.yaml'), 'apiVersion: netfence.dev/v1alpha1\nkind: TenantIsolation\nmetadata: {name: t9}\nspec:\n  mode: Sometimes\n');
    const run = await runNetfence(['diff', '--base', folder(cluster()), '--head', head]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(new RegExp(`^netfence diff: --head: ${join(head, 'broken.yaml').replaceAll('/', '\\/')}:5: .*mode`));
  });

  test('reads one side from standard input', async () => {
    const head = cluster({}, {}, [OPEN()]);
    const run = await runNetfence(['diff', '--base', folder(cluster()), '--head', '-'], head.map((o) => stringify(o)).join('---\n'));
    expect(section(run.stdout, 'opens')).toEqual(['  FAIL   opens tenant t3 ingress from ns-1 to t3-a on TCP 80, undeclared (ingress: t3-a/open)']);
    expect(run.code).toBe(1);
  });

  test.each([
    [['--head', '.'], 'no --base'],
    [['--base', '.'], 'no --head'],
    [['--base', '-', '--head', '-'], 'standard input (-) can be read for one side only'],
    [['--base', '.', '--head', '.', '-o', 'yaml'], '--output must be text or json'],
  ])('bad usage %j is exit 2: %s', async (argv, message) => {
    const run = await runNetfence(['diff', ...argv]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('Usage: netfence diff --base PATH... --head PATH...');
  });

  test("docs/commands.md's example lines are what it prints", async () => {
    const readme = readFileSync(join(process.cwd(), 'docs/commands.md'), 'utf8');
    const block = readme.slice(readme.indexOf('## What a change opens and closes: `netfence diff`')).split('```')[3] ?? '';
    const opened = await diffOf(cluster(), cluster({}, {}, [OPEN()]));
    const declared = cluster({ ingress: { from: [{ tenant: 't1', ports: [{ port: 8443 }] }] } }, { egress: { to: [{ tenant: 't3', ports: [{ port: 8443 }] }] } });
    const closed = await diffOf(declared, cluster({}, { egress: { to: [{ tenant: 't3', ports: [{ port: 8443 }] }] } }));
    expect(block.split('\n').filter((l) => l.trim() !== '')).toEqual([section(opened.stdout, 'opens')[0], section(closed.stdout, 'closes')[0]]);
  });

  test('netfence --help lists it, and netfence diff --help describes it', async () => {
    expect((await runNetfence(['--help'])).stdout).toMatch(/^ {2}diff {6}what a change opens and closes/m);
    const help = await runNetfence(['diff', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: netfence diff --base PATH\.\.\. --head PATH\.\.\./);
  });
});

// ---- The pure diff, against the evaluator.

const PROBE_PORTS: [number, Protocol][] = [
  [53, 'UDP'],
  [80, 'TCP'],
  [443, 'TCP'],
  [8050, 'SCTP'],
];

const sceneOf = (c: Cluster, tenants = c.input.tenants, extra: NetworkPolicy[] = []): Scene =>
  buildScene({ tenants, namespaces: c.namespaces, pods: c.pods, policies: extra, settings: defaultSettings() }, 'planned');

/** Addresses outside the cluster to probe: inside and outside the CIDRs the random clusters use, cloud metadata's included. */
const PROBE_IPS = ['10.0.1.7', '10.0.2.5', '10.3.0.1', '169.254.169.254', '169.254.3.3', '192.168.1.1', '8.8.8.8', '2001:db8::1', 'fd00:ec2::254'];
const METADATA = ['169.254.169.254/32', 'fd00:ec2::254/128'].map((c) => parseCidr(c) as Cidr);

/** `from>to port/proto` for every pair of ends (namespace, probe address) on which some pod (address) of the one reaches some pod of the other (evaluator). */
function reachable(scene: Scene): Set<string> {
  const out = new Set<string>();
  const pods: { end: string; e: Endpoint }[] = scene.reach.classes
    .flatMap((k) => k.pods)
    .map((p) => ({ end: p.namespace, e: { kind: 'pod', namespace: p.namespace, name: p.name } }));
  const ips: { end: string; e: Endpoint }[] = PROBE_IPS.map((ip) => ({ end: ip, e: { kind: 'external', ip } }));
  const ev = scene.evaluator();
  for (const a of [...pods, ...ips]) {
    for (const b of a.e.kind === 'external' ? pods : [...pods, ...ips]) {
      for (const [port, protocol] of PROBE_PORTS) {
        // A pod's traffic to itself is allowed whatever the policies say: no path between two pods.
        const v = ev.evaluate(a.e, b.e, port, protocol);
        if (v.allowed && v.exempt?.kind !== 'self') out.add(`${a.end}>${b.end} ${port}/${protocol}`);
      }
    }
  }
  return out;
}

/** The probe addresses and namespaces an end of a change stands for. */
function members(end: DiffEnd): string[] {
  if (end.kind === 'namespace') return [end.name];
  const ip = (text: string): IP => parseIP(text) as IP;
  if (end.kind === 'everywhere') return PROBE_IPS.filter((t) => end.metadata || !METADATA.some((m) => cidrContainsIP(m, ip(t))));
  const inside = (c: string, t: string): boolean => parseIP(t)?.family === parseCidr(c)?.family && cidrContainsIP(parseCidr(c) as Cidr, ip(t));
  return PROBE_IPS.filter((t) => inside(end.cidr, t) && !end.except.some((h) => inside(h, t)));
}

/**
 * `tenant direction from>to port/proto` for every pair of ends (namespace, probe address) whose
 * crossing of an Enforce tenant's fence some allowed pair of classes leaves undeclared.
 */
function undeclaredEnforced(scene: Scene): Set<string> {
  const out = new Set<string>();
  const classes = scene.reach.classes;
  const ends = new Map(classes.map((k) => [k, k.kind === 'pods' ? [...k.namespaces] : PROBE_IPS.filter((t) => scene.reach.classOfAddress(parseIP(t) as IP) === k)]));
  const enforce = (t: string | undefined): t is string => t !== undefined && scene.fences.tenants.get(t)?.mode === 'Enforce';
  for (const a of classes) {
    for (const b of classes) {
      if (a.tenant === b.tenant || (a.kind === 'external' && b.kind === 'external')) continue;
      const allowed = scene.reach.pair(a, b).allowed;
      const declared = scene.reach.declared(a, b);
      for (const [port, protocol] of PROBE_PORTS) {
        if (!allowed.has(protocol, port)) continue;
        for (const x of ends.get(a) ?? []) {
          for (const y of ends.get(b) ?? []) {
            if (enforce(a.tenant) && !declared.egress.ports.has(protocol, port)) out.add(`${a.tenant} egress ${x}>${y} ${port}/${protocol}`);
            if (enforce(b.tenant) && !declared.ingress.ports.has(protocol, port)) out.add(`${b.tenant} ingress ${x}>${y} ${port}/${protocol}`);
          }
        }
      }
    }
  }
  return out;
}

function reported(changes: readonly DiffChange[], keep: (c: DiffChange) => boolean, withScope: boolean): Set<string> {
  const out = new Set<string>();
  for (const c of changes.filter(keep)) {
    const scope = withScope && c.scope.kind === 'crossing' ? `${c.scope.tenant} ${c.scope.direction} ` : '';
    for (const f of c.from.flatMap(members)) {
      for (const t of c.to.flatMap(members)) for (const [port, protocol] of PROBE_PORTS) if (c.ports.has(protocol, port)) out.add(`${scope}${f}>${t} ${port}/${protocol}`);
    }
  }
  return out;
}

const minus = (a: Set<string>, b: Set<string>): string[] => [...a].filter((x) => !b.has(x)).sort();

describe('the diff of two scenes, on random clusters of tenants where one tenant changes and a namespace may open', () => {
  const changeArb = fc.tuple(clusterArb, specArb, fc.nat(), fc.option(fc.constantFrom('n0', 'n1', 'n2', 'n3'), { nil: undefined }));
  const scenes = ([c, spec, pick, opened]: [Cluster, TenantIsolationSpec, number, string | undefined]): [Scene, Scene] => {
    const i = pick % c.input.tenants.length;
    const tenants = c.input.tenants.map((t, j) => (j === i ? { ...t, spec } : t));
    const extra = opened === undefined ? [] : [policy(opened, 'allow-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [{}], egress: [{}] })];
    return [sceneOf(c), sceneOf(c, tenants, extra)];
  };

  test('opens exactly the pairs of namespaces and addresses, and the ports, the evaluator allows in the head and not in the base, and closes the reverse', () => {
    fc.assert(
      fc.property(changeArb, (args) => {
        const [base, head] = scenes(args);
        const d = diffScenes(base, head);
        const before = reachable(base);
        const after = reachable(head);
        expect([...reported(d.changes, (c) => c.reach === 'opened', false)].sort()).toEqual(minus(after, before));
        expect([...reported(d.changes, (c) => c.reach === 'closed', false)].sort()).toEqual(minus(before, after));
      }),
      { numRuns: 150 },
    );
  });

  test('fails exactly on the crossings of Enforce fences undeclared in the head and not in the base', () => {
    fc.assert(
      fc.property(changeArb, (args) => {
        const [base, head] = scenes(args);
        const d = diffScenes(base, head);
        const expected = minus(undeclaredEnforced(head), undeclaredEnforced(base));
        expect([...reported(d.changes, (c) => c.failing, true)].sort()).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });

  test('names as no longer failing exactly the crossings of Enforce fences undeclared in the base and not in the head', () => {
    fc.assert(
      fc.property(changeArb, (args) => {
        const [base, head] = scenes(args);
        const d = diffScenes(base, head);
        const fixed = (c: DiffChange): boolean => c.before === 'violation' && c.after !== 'violation';
        expect([...reported(d.changes, fixed, true)].sort()).toEqual(minus(undeclaredEnforced(base), undeclaredEnforced(head)));
        expect(d.changes.filter(fixed).every((c) => c.section === 'closes')).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  test('a scene against itself is no change', () => {
    fc.assert(
      fc.property(clusterArb, (c) => {
        expect(diffScenes(sceneOf(c), sceneOf(c)).changes).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });
});
