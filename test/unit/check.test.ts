/** `netfence check`: the fence analysis (properties and scenarios) and the command. */
import fc from 'fast-check';
import type { NetworkPolicy, Pod, Protocol } from '../../src/api/k8s.js';
import type { TenantIsolationSpec } from '../../src/api/types.js';
import { readFileSync } from 'node:fs';
import { findViolations, type Violation } from '../../src/analysis/check.js';
import { FINDING_CATEGORIES } from '../../src/analysis/findings.js';
import type { EndpointClass } from '../../src/analysis/reachability.js';
import { buildScene, type Scene } from '../../src/analysis/scene.js';
import { defaultSettings } from '../../src/compiler/settings.js';
import { memberNs, ns, pod, tenant } from '../fixtures/builders.js';
import { runNetfence } from '../fixtures/cli.js';
import { clusterArb, NS_NAMES, type Cluster } from '../fixtures/tenant-cluster-arbitrary.js';

function sceneOf(c: Cluster, extra: NetworkPolicy[] = []): Scene {
  return buildScene({ tenants: c.input.tenants, namespaces: c.namespaces, pods: c.pods, policies: extra, settings: defaultSettings() }, 'planned');
}

function policy(namespace: string, name: string, spec: NetworkPolicy['spec']): NetworkPolicy {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace, name }, spec };
}

const ALLOW_ALL = (namespace: string): NetworkPolicy => policy(namespace, 'allow-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [{}], egress: [{}] });

/** A class by its first Pod of the input (its first possible pod when it has none), or its first address range. */
const endName = (c: EndpointClass): string => {
  const p = c.pods.find((x) => x.origin !== 'possible') ?? c.pods[0];
  return p === undefined ? `${c.addresses[0]?.text}/` : `${p.namespace}/${p.name}`;
};
const describeViolation = (v: Violation): string =>
  `${endName(v.from)} -> ${endName(v.to)} ${v.ports.format()} [${v.crossings.map((c) => `${c.direction} ${c.tenant}`).join(', ')}]`;

const EXPLAIN_PORTS: [number, Protocol][] = [
  [53, 'UDP'],
  [80, 'TCP'],
  [8080, 'TCP'],
  [9090, 'TCP'],
];

const PROBE_PORTS: [number, Protocol][] = [
  [53, 'UDP'],
  [53, 'TCP'],
  [80, 'TCP'],
  [443, 'TCP'],
  [8050, 'SCTP'],
  [9999, 'UDP'],
];

describe('the fence analysis over random clusters of tenants', () => {
  test('finds no violation when the only policies are those netfence generates (compiler and fences agree)', () => {
    fc.assert(
      fc.property(clusterArb, (c) => {
        const scene = sceneOf(c);
        expect(
          findViolations(scene.reach, scene.fences)
            .filter((v) => v.enforced)
            .map(describeViolation),
        ).toEqual([]);
      }),
      { numRuns: 400 },
    );
  });

  test('reports exactly the pod pairs and ports the evaluator allows across a fence and the fences do not declare', () => {
    fc.assert(
      fc.property(clusterArb, fc.constantFrom(...NS_NAMES), (c, opened) => {
        const scene = sceneOf(c, [ALLOW_ALL(opened)]);
        const violations = findViolations(scene.reach, scene.fences);
        const reported = new Set<string>();
        for (const v of violations) {
          for (const f of v.from.pods)
            for (const t of v.to.pods)
              for (const [port, protocol] of PROBE_PORTS) if (v.ports.has(protocol, port)) reported.add(`${f.namespace}/${f.name}>${t.namespace}/${t.name} ${port}/${protocol}`);
        }
        const expected = new Set<string>();
        const evaluator = scene.evaluator();
        // Every pod, and the possible pods of every namespace.
        const pods = scene.reach.classes.flatMap((k) => k.pods);
        expect(pods.length).toBe(c.pods.length + scene.reach.possiblePods.length);
        for (const from of pods) {
          for (const to of pods) {
            const a = scene.reach.classOfPod(from.namespace, from.name);
            const b = scene.reach.classOfPod(to.namespace, to.name);
            if (a === undefined || b === undefined || a.tenant === b.tenant) continue;
            const declared = scene.reach.declared(a, b);
            for (const [port, protocol] of PROBE_PORTS) {
              if (!evaluator.evaluate({ kind: 'pod', ...from }, { kind: 'pod', ...to }, port, protocol).allowed) continue;
              const undeclared = (a.tenant !== undefined && !declared.egress.ports.has(protocol, port)) || (b.tenant !== undefined && !declared.ingress.ports.has(protocol, port));
              if (undeclared) expected.add(`${from.namespace}/${from.name}>${to.namespace}/${to.name} ${port}/${protocol}`);
            }
          }
        }
        expect([...reported].sort()).toEqual([...expected].sort());
      }),
      { numRuns: 200 },
    );
  });
});

/** Two tenants with pods and DNS, the way the examples set them up. */
function twoTenants(aSpec: TenantIsolationSpec = {}, bSpec: TenantIsolationSpec = {}, policies: NetworkPolicy[] = [], pods: Pod[] = []): Scene {
  return buildScene(
    {
      tenants: [tenant('a', aSpec), tenant('b', bSpec)],
      namespaces: [memberNs('a1', 'a'), memberNs('b1', 'b'), ns('kube-system'), ns('ops')],
      pods: [pod('a1', 'web', { app: 'web' }), pod('b1', 'api', { app: 'api' }), pod('kube-system', 'dns', { 'k8s-app': 'kube-dns' }), pod('ops', 'tool'), ...pods],
      policies,
      settings: defaultSettings(),
    },
    'planned',
  );
}

const violationsOf = (s: Scene): Violation[] => findViolations(s.reach, s.fences);

describe('check scenarios', () => {
  test('a hand-written policy that opens a tenant to everyone is a violation in both directions, cloud metadata included', () => {
    const s = twoTenants({}, {}, [ALLOW_ALL('b1')]);
    const lines = violationsOf(s).map(describeViolation);
    expect(lines).toContain('b1/api -> kube-system/dns TCP 1-52, 54-65535; UDP 1-52, 54-65535; SCTP any [egress b]');
    expect(lines).toContain('ops/tool -> b1/api any [ingress b]');
    expect(lines).toContain('b1/api -> 169.254.169.254/32/ any [egress b]');
    // a's own deny keeps a closed: nothing between a and b in either direction.
    expect(lines.filter((l) => l.includes('a1/'))).toEqual([]);
    const fromOps = violationsOf(s).find((v) => v.from.pods.some((p) => p.namespace === 'ops' && p.name === 'tool'));
    expect(fromOps?.ingress.allowing.map((x) => x.name)).toEqual(['allow-all']);
    expect(fromOps?.egress.isolated).toBe(false);
  });

  test('a path both tenants declare passes; opened by hand without the sender declaring it, it fails on the sender side only', () => {
    const declaredBoth = twoTenants({ ingress: { from: [{ tenant: 'b', ports: [{ port: 8443 }] }] } }, { egress: { to: [{ tenant: 'a', ports: [{ port: 8443 }] }] } });
    expect(violationsOf(declaredBoth)).toEqual([]);
    const senderSilent = twoTenants({ ingress: { from: [{ tenant: 'b', ports: [{ port: 8443 }] }] } }, {}, [
      policy('b1', 'to-a', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: {} }], ports: [{ port: 8443 }] }] }),
    ]);
    const v = violationsOf(senderSilent);
    // The hand-written rule names every namespace: a1 (declared by a, not by b), and kube-system and ops
    // (ops/tool is in one class with the pods kube-system could have that are not DNS pods).
    expect(v.map(describeViolation)).toEqual(['b1/api -> a1/web TCP 8443 [egress b]', 'b1/api -> ops/tool TCP 8443 [egress b]', 'b1/api -> kube-system/dns TCP 8443 [egress b]']);
    expect(v[0]?.egress.allowing.map((x) => `${x.name} ${x.ports.format()}`)).toEqual(['to-a TCP 8443']);
    expect(v[0]?.ingress.allowing.map((x) => x.name)).toEqual(['netfence-allow-ingress']);
  });

  test('an exposure declares only its ports: a hand-written policy opening more ports of the exposed pod is a violation on those', () => {
    const spec: TenantIsolationSpec = { exposures: [{ name: 'web', from: [{ namespaces: ['ops'] }], ports: [{ port: 8080 }] }] };
    const exposed = pod('a1', 'front', { 'netfence.dev/expose-web': 'true' });
    const wide = policy('a1', 'front-wide', {
      podSelector: { matchLabels: { 'netfence.dev/expose-web': 'true' } },
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ops' } } }], ports: [{ port: 8000, endPort: 9000 }] }],
    });
    expect(violationsOf(twoTenants(spec, {}, [], [exposed]))).toEqual([]);
    const v = violationsOf(twoTenants(spec, {}, [wide], [exposed]));
    expect(v.map(describeViolation)).toEqual(['ops/tool -> a1/front TCP 8000-8079, 8081-9000 [ingress a]']);
  });

  test('paths across an Audit tenant fence are reported and do not fail the check', () => {
    const v = violationsOf(twoTenants({ mode: 'Audit' }));
    expect(v.length).toBeGreaterThan(0);
    expect(v.every((x) => !x.enforced && x.crossings.every((c) => c.tenant === 'a' && c.mode === 'Audit'))).toBe(true);
    // b (Enforce) stays closed to a: nothing from a reaches b.
    expect(v.filter((x) => x.to.pods.some((p) => p.namespace === 'b1'))).toEqual([]);
  });

  test('egress to cloud metadata through a declared CIDR is a violation unless the tenant allows metadata', () => {
    const internet = { egress: { to: [{ cidr: '0.0.0.0/0', ports: [{ port: 80 }] }] } };
    const byHand = policy('a1', 'web-out', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 80 }] }] });
    expect(violationsOf(twoTenants(internet, {}, [byHand])).map(describeViolation)).toEqual(['a1/web -> 169.254.169.254/32/ TCP 80 [egress a]']);
    const allowed = { egress: { to: [{ cidr: '0.0.0.0/0', allowCloudMetadata: true, ports: [{ port: 80 }] }] } };
    expect(violationsOf(twoTenants(allowed, {}, [byHand]))).toEqual([]);
  });

  test('a policy in the input that netfence owns is replaced by the generated one; one it does not own is analysed as it is', () => {
    const owned: NetworkPolicy = {
      ...ALLOW_ALL('b1'),
      metadata: {
        namespace: 'b1',
        name: 'netfence-allow-same-tenant',
        labels: { 'app.kubernetes.io/managed-by': 'netfence' },
        ownerReferences: [{ apiVersion: 'netfence.dev/v1alpha1', kind: 'TenantIsolation', name: 'b', uid: 'u' }],
      },
    };
    expect(violationsOf(twoTenants({}, {}, [owned]))).toEqual([]);
    const foreign: NetworkPolicy = { ...owned, metadata: { namespace: 'b1', name: 'netfence-allow-same-tenant' } };
    const s = twoTenants({}, {}, [foreign]);
    expect(violationsOf(s).length).toBeGreaterThan(0);
    expect(s.notes.join('\n')).toContain('NetworkPolicy b1/netfence-allow-same-tenant in the input is not netfence');
  });

  test('a namespace without pods is analysed through the pods it could have', () => {
    const s = buildScene(
      { tenants: [tenant('a'), tenant('b')], namespaces: [memberNs('a1', 'a'), memberNs('b1', 'b')], pods: [], policies: [ALLOW_ALL('b1')], settings: defaultSettings() },
      'planned',
    );
    const v = violationsOf(s).map(describeViolation);
    expect(v).toContain('0.0.0.0/0 except 169.254.169.254/32/ -> b1/* any [ingress b]');
  });
});

describe('netfence check', () => {
  test.each(['examples/two-tenants', 'examples/shared-services', 'examples/internet-egress', 'examples/gitops'])('passes on %s', async (dir) => {
    const r = await runNetfence(['check', '-f', dir]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('no path crosses a tenant fence undeclared');
    expect(r.code).toBe(0);
  });

  const OPEN = JSON.stringify({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'allow-everything', namespace: 'globex-api' },
    spec: { podSelector: {}, ingress: [{}] },
  });

  test('exits 1 and names the cause: the tenant, the policy, the paths it lets in, with an example', async () => {
    const r = await runNetfence(['check', '-f', 'examples/two-tenants', '-f', '-'], OPEN);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\n[\d,]+ paths cross an Enforce tenant's fence undeclared, from 1 cause \(--verbose lists every path\)\n/);
    expect(r.stdout).toMatch(
      /\nFAIL {2}tenant globex: globex-api\/allow-everything lets paths across its fence undeclared\n {6}enters on any port: [\d,]+ paths, e\.g\. kube-system\/coredns, [^\n]*\(in no tenant\) -> globex-api\/api, any pod in globex-api \(tenant globex\)\n/,
    );
    expect(r.stdout).not.toContain('leaves on');
  });

  test('docs/commands.md shows the cause as check prints it', async () => {
    const readme = readFileSync('docs/commands.md', 'utf8');
    const block = /Paths are reported by cause[\s\S]*?\n```\n([\s\S]*?)```\n/.exec(readme)?.[1];
    expect(block).toMatch(/^FAIL {2}tenant globex/);
    const r = await runNetfence(['check', '-f', 'examples/two-tenants', '-f', '-'], OPEN);
    expect(r.stdout).toContain(`\n${block}`);
  });

  test('every finding category is explained in --help and docs/commands.md', async () => {
    const help = (await runNetfence(['check', '--help'])).stdout;
    const readme = readFileSync('docs/commands.md', 'utf8');
    for (const category of FINDING_CATEGORIES.filter((c) => c !== 'other')) {
      expect(help).toMatch(new RegExp(`\\n  ${category} +\\S`));
      expect(readme).toContain(`\`${category}\``);
    }
  });

  test('--verbose adds every path: its ports, the fence and the policies on each side', async () => {
    const r = await runNetfence(['check', '--verbose', '-f', 'examples/two-tenants', '-f', '-'], OPEN);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /FAIL {2}kube-system\/coredns, [^\n]*\(in no tenant\)\n {3}-> globex-api\/api, any pod in globex-api \(tenant globex\)\n {6}ports: {3}any\n {6}fence: {3}enters tenant globex undeclared on any\n {6}egress {2}not isolated.*\n {6}ingress allowed by globex-api\/allow-everything \(any\)/,
    );
    expect(r.stdout).not.toContain('acme-web/web (tenant acme)\n   -> globex');
  });

  test('-o json carries the same for machines: endpoints once, each path by endpoint id', async () => {
    const r = await runNetfence(['check', '-o', 'json', '-f', 'examples/two-tenants', '-f', '-'], OPEN);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as {
      failed: boolean;
      endpoints: { id: number; pods?: { name: string }[] }[];
      violations: { to: number; ingress: { allowedBy: { policy: string }[] }; crossings: { tenant: string; direction: string; cause: number }[] }[];
      causes: { id: number; tenant: string; policies: string[]; namespaces: string[] }[];
    };
    expect(out.failed).toBe(true);
    expect(out.violations.length).toBeGreaterThan(0);
    const byId = new Map(out.endpoints.map((e) => [e.id, e]));
    expect(out.violations.every((v) => byId.get(v.to)?.pods?.some((p) => p.name === 'api') && v.ingress.allowedBy.some((a) => a.policy === 'allow-everything'))).toBe(true);
    expect(out.violations.every((v) => v.crossings.some((c) => c.tenant === 'globex' && c.direction === 'ingress' && c.cause === 0))).toBe(true);
    expect(out.causes.map((c) => `${c.id} ${c.tenant} ${c.namespaces.join(',')}/${c.policies.join(',')}`)).toEqual(['0 globex globex-api/allow-everything']);
  });

  test('refuses bad usage and bad input with exit 2', async () => {
    expect((await runNetfence(['check'])).code).toBe(2);
    expect((await runNetfence(['check', '-f', 'examples/two-tenants', '--live'])).stderr).toContain('either -f PATH or --live');
    expect((await runNetfence(['check', '-f', 'examples/two-tenants', '-o', 'yaml'])).code).toBe(2);
    const broken = await runNetfence(['check', '-f', '-'], 'apiVersion: netfence.dev/v1alpha1\nkind: TenantIsolation\nmetadata: {name: x}\nspec: {bogus: 1}\n');
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/<stdin>:4|bogus/);
    expect(broken.stdout).toBe('');
  });
});

describe('netfence explain', () => {
  test('names each selecting policy, what it allows, the fence and the verdict', async () => {
    const r = await runNetfence(['explain', '-f', 'examples/two-tenants', 'acme-web/web', 'kube-system/coredns', '--port', '53/UDP']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  acme-web/netfence-allow-dns: allows UDP 53\n      egress[0]: peer matches; TCP 53; UDP 53  <- allows');
    expect(r.stdout).toContain('  acme-web/netfence-default-deny: does not allow\n      no egress rules: allows nothing');
    expect(r.stdout).toContain('ingress of kube-system/coredns: not isolated');
    expect(r.stdout).toContain('fence: leaves tenant acme: declared on TCP 53; UDP 53');
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('verdict: allowed');
  });

  test.each<[string[], string]>([
    [['acme-web/web', 'globex-api/api', '--port', '8080'], 'verdict: denied'],
    [['acme-web/web', 'acme-db/db', '--port', '5432'], 'verdict: allowed'],
    [['acme-web/web', 'kube-system/coredns', '--port', '53/SCTP'], 'verdict: denied'],
    [['acme-web/web', '169.254.169.254'], 'verdict: denied'],
    [['acme-web/web', 'acme-db/db'], 'verdict: allowed'],
  ])('explain %j ends with the verdict, and exits 0 when allowed and 1 when denied', async (argv, last) => {
    const r = await runNetfence(['explain', '-f', 'examples/two-tenants', ...argv]);
    expect(r.code).toBe(last === 'verdict: allowed' ? 0 : 1);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe(last);
  });

  test('agrees with the evaluator on every pair and probe port of the examples', async () => {
    const scene = (await import('../../src/cli/scene.js')).loadScene;
    const { parseArgs } = await import('../../src/cli/args.js');
    const { SCENE_FLAGS } = await import('../../src/cli/scene.js');
    const loaded = await scene(parseArgs(['-f', 'examples/shared-services'], SCENE_FLAGS), { stdout: () => {}, stderr: () => {}, readStdin: () => '' });
    const pods = loaded.scene.pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
    for (const from of pods) {
      for (const to of pods) {
        for (const [port, protocol] of EXPLAIN_PORTS) {
          const r = await runNetfence(['explain', '-f', 'examples/shared-services', from, to, '--port', `${port}/${protocol}`]);
          const [fn, fp] = from.split('/') as [string, string];
          const [tn, tp] = to.split('/') as [string, string];
          const v = loaded.scene.evaluator().evaluate({ kind: 'pod', namespace: fn, name: fp }, { kind: 'pod', namespace: tn, name: tp }, port, protocol);
          const lines = r.stdout.trimEnd().split('\n');
          expect(`${from} ${to} ${port}/${protocol} ${lines.at(-1)} exit ${r.code}`).toBe(
            `${from} ${to} ${port}/${protocol} verdict: ${v.allowed ? 'allowed exit 0' : 'denied exit 1'}`,
          );
          // The per-side summaries agree with the final verdict.
          const egressDenied = lines.includes('  -> egress denied');
          const ingressDenied = lines.includes('  -> ingress denied');
          expect(!egressDenied && !ingressDenied).toBe(v.allowed);
        }
      }
    }
  });

  test('refuses an unknown pod, a bad port and a missing endpoint with exit 2', async () => {
    const unknown = await runNetfence(['explain', '-f', 'examples/two-tenants', 'acme-web/nope', 'globex-api/api']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown pod acme-web/nope');
    expect((await runNetfence(['explain', '-f', 'examples/two-tenants', 'acme-web/web', 'globex-api/api', '--port', '70000'])).code).toBe(2);
    expect((await runNetfence(['explain', '-f', 'examples/two-tenants', 'acme-web/web', 'globex-api/api', '--port', '80/ICMP'])).code).toBe(2);
    expect((await runNetfence(['explain', '-f', 'examples/two-tenants', 'acme-web/web'])).code).toBe(2);
  });
});
