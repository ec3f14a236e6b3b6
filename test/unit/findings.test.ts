/** Findings: each category from the input that causes it, their order, and how `check` fails on them. */
import type { Namespace, Pod } from '../../src/api/k8s.js';
import type { TenantIsolation, TenantIsolationSpec } from '../../src/api/types.js';
import { exclusionReasons, findings, type Finding } from '../../src/analysis/findings.js';
import { buildScene, type SceneInput } from '../../src/analysis/scene.js';
import { defaultSettings } from '../../src/compiler/settings.js';
import { memberNs, ns, pod, tenant } from '../fixtures/builders.js';
import { runNetfence } from '../fixtures/cli.js';

const OPERATOR_NS = 'netfence-system';

function findingsOf(input: Partial<SceneInput> & { tenants: TenantIsolation[] }, mode: 'planned' | 'live' = 'planned', extraExcluded: string[] = []): Finding[] {
  const full: SceneInput = { namespaces: [], pods: [], policies: [], settings: defaultSettings(OPERATOR_NS, extraExcluded), ...input };
  const scene = buildScene(full, mode);
  return findings({ tenants: full.tenants, namespaces: scene.namespaces, pods: scene.pods, compiled: scene.compiled, exclusions: exclusionReasons(OPERATOR_NS, extraExcluded) });
}

const brief = (f: Finding): string => `${f.severity} ${f.category} ${f.message}`;
const inCategory = (fs: Finding[], category: Finding['category']): string[] => fs.filter((f) => f.category === category).map(brief);

/** Two tenants a and b with a member namespace each, and a namespace of no tenant. */
function twoTenants(aSpec: TenantIsolationSpec, extra: { namespaces?: Namespace[]; pods?: Pod[]; workloads?: Pod[] } = {}): Partial<SceneInput> & { tenants: TenantIsolation[] } {
  return {
    tenants: [tenant('a', aSpec), tenant('b')],
    namespaces: [memberNs('a1', 'a'), memberNs('b1', 'b'), ns('ops', { team: 'ops' }), ...(extra.namespaces ?? [])],
    pods: extra.pods ?? [],
    workloads: extra.workloads ?? [],
  };
}

describe('findings by category', () => {
  test('conflict: a namespace claimed by two tenants is an error naming both and the outage', () => {
    const fs = findingsOf({ tenants: [tenant('a', { namespaces: ['shared'] }), tenant('b', { namespaces: ['shared'] })], namespaces: [ns('shared')] });
    expect(inCategory(fs, 'conflict')).toEqual([
      'error conflict namespace shared is claimed by tenants a, b: it belongs to no tenant and keeps only the deny policies: its pods reach no other pod and no other pod reaches them',
    ]);
    // Reported once, not once per claiming tenant.
    expect(fs.filter((f) => f.message.includes('claimed by'))).toHaveLength(1);
  });

  test('unknown-peer: a peer naming a tenant that does not exist', () => {
    const fs = findingsOf(twoTenants({ ingress: { from: [{ tenant: 'nope' }] } }));
    expect(inCategory(fs, 'unknown-peer')).toEqual(['warning unknown-peer tenant a: spec.ingress.from[0]: peer tenant "nope" does not exist; the peer allows nothing']);
  });

  test('empty-peer: a peer naming a tenant without member namespaces', () => {
    const fs = findingsOf({ ...twoTenants({ egress: { to: [{ tenant: 'c' }] } }), tenants: [tenant('a', { egress: { to: [{ tenant: 'c' }] } }), tenant('b'), tenant('c')] });
    expect(inCategory(fs, 'empty-peer')).toEqual(['warning empty-peer tenant a: spec.egress.to[0]: peer tenant "c" has no member namespaces; the peer allows nothing']);
    expect(inCategory(fs, 'no-members')).toEqual(['warning no-members tenant c: tenant has no member namespaces']);
  });

  test('empty-selector: a membership selector and a peer selector that match no namespace', () => {
    const fs = findingsOf({
      ...twoTenants({}),
      tenants: [
        tenant('a', { namespaceSelector: { matchLabels: { team: 'nobody' } } }),
        tenant('b', { ingress: { from: [{ namespaceSelector: { matchLabels: { team: 'ghost' } } }] } }),
      ],
    });
    expect(inCategory(fs, 'empty-selector')).toEqual([
      'warning empty-selector tenant a: spec.namespaceSelector {"matchLabels":{"team":"nobody"}} matches no namespace of the input: it brings in no member',
      'warning empty-selector tenant b: spec.ingress.from[0]: namespaceSelector {"matchLabels":{"team":"ghost"}} matches no namespace; the peer allows nothing',
    ]);
    // A selector that matches a namespace is no finding.
    expect(inCategory(findingsOf({ ...twoTenants({}), tenants: [tenant('a', { namespaceSelector: { matchLabels: { team: 'ops' } } }), tenant('b')] }), 'empty-selector')).toEqual(
      [],
    );
  });

  test('metadata-cidr: a CIDR peer inside cloud metadata', () => {
    const fs = findingsOf(twoTenants({ egress: { to: [{ cidr: '169.254.169.254/32' }] } }));
    expect(inCategory(fs, 'metadata-cidr')).toEqual([
      'warning metadata-cidr tenant a: spec.egress.to[0]: cidr 169.254.169.254/32 lies inside cloud metadata 169.254.169.254/32; set allowCloudMetadata to allow it; the peer allows nothing',
    ]);
  });

  test('excluded-namespace: asked by label or selector, kept out by the settings, each with its reason', () => {
    const fs = findingsOf(
      {
        tenants: [tenant('a'), tenant('b', { namespaceSelector: { matchLabels: { joins: 'b' } } })],
        namespaces: [
          memberNs('a1', 'a'),
          ns('kube-system', { 'netfence.dev/tenant': 'a' }),
          ns(OPERATOR_NS, { joins: 'b' }),
          ns('legacy', { 'netfence.dev/tenant': 'a', joins: 'b' }),
          ns('b1', { joins: 'b' }),
        ],
      },
      'planned',
      ['legacy'],
    );
    expect(inCategory(fs, 'excluded-namespace')).toEqual([
      'warning excluded-namespace namespace kube-system has the label netfence.dev/tenant=a but does not join tenant a: the settings keep it from joining by selector or label (a system namespace)',
      'warning excluded-namespace namespace legacy has the label netfence.dev/tenant=a but does not join tenant a: the settings keep it from joining by selector or label (given to --exclude-namespace)',
      'warning excluded-namespace namespace legacy matches the namespaceSelector of tenant b but does not join tenant b: the settings keep it from joining by selector or label (given to --exclude-namespace)',
      `warning excluded-namespace namespace ${OPERATOR_NS} matches the namespaceSelector of tenant b but does not join tenant b: the settings keep it from joining by selector or label (the operator\u2019s own namespace)`,
    ]);
  });

  test('excluded-namespace: a tenant naming an excluded namespace gets it all the same, and is told so', () => {
    const fs = findingsOf({ tenants: [tenant('a', { namespaces: ['kube-system', 'a1'] })], namespaces: [ns('a1'), ns('kube-system')] });
    expect(inCategory(fs, 'excluded-namespace')).toEqual([
      'warning excluded-namespace namespace kube-system is named by tenant a and joins it, although the settings keep it from joining by selector or label (a system namespace)',
    ]);
  });

  test('host-network: member pods and workloads with hostNetwork, named as reports name them; others are no finding', () => {
    const host = (p: Pod): Pod => ({ ...p, spec: { hostNetwork: true } });
    const fs = findingsOf(
      twoTenants(
        {},
        {
          pods: [host(pod('a1', 'agent')), pod('a1', 'web'), host(pod('ops', 'node-exporter')), { ...pod('b1', 'plain'), spec: { hostNetwork: false } }],
          workloads: [host(pod('b1', 'daemonset/collector'))],
        },
      ),
    );
    expect(inCategory(fs, 'host-network')).toEqual([
      'warning host-network a1/agent (tenant a) uses hostNetwork: NetworkPolicy does not apply to it, so it is outside the fence whatever the policies say',
      'warning host-network b1/daemonset/collector (tenant b) uses hostNetwork: NetworkPolicy does not apply to it, so it is outside the fence whatever the policies say',
    ]);
  });

  test('exposure-label: a pod opting into an exposure its tenant does not declare', () => {
    const fs = findingsOf(twoTenants({}, { pods: [pod('a1', 'web', { 'netfence.dev/expose-web': 'true' })] }));
    expect(inCategory(fs, 'exposure-label')).toEqual(['warning exposure-label tenant a: pod a1/web has label netfence.dev/expose-web but tenant declares no exposure "web"']);
  });

  test('missing-namespace: a named namespace the cluster lacks (live; offline it is analysed as created)', () => {
    const input = { tenants: [tenant('a', { namespaces: ['gone'] })], namespaces: [ns('ops')] };
    expect(inCategory(findingsOf(input, 'live'), 'missing-namespace')).toEqual(['warning missing-namespace tenant a: spec.namespaces: namespace "gone" does not exist']);
    expect(inCategory(findingsOf(input, 'planned'), 'missing-namespace')).toEqual([]);
  });

  test('a clean input has no finding, and findings come errors first, then by category', () => {
    expect(findingsOf(twoTenants({}))).toEqual([]);
    const fs = findingsOf({
      tenants: [tenant('a', { namespaces: ['shared'], ingress: { from: [{ tenant: 'zzz' }] } }), tenant('b', { namespaces: ['shared'] })],
      namespaces: [ns('shared'), ns('kube-system', { 'netfence.dev/tenant': 'b' })],
    });
    expect(fs.map((f) => f.category)).toEqual(['conflict', 'unknown-peer', 'excluded-namespace']);
  });
});

const yaml = (...docs: string[]): string => docs.join('\n---\n');
const TENANTS = yaml(
  'apiVersion: netfence.dev/v1alpha1\nkind: TenantIsolation\nmetadata: {name: a}\nspec: {ingress: {from: [{tenant: ghost}]}}',
  'apiVersion: netfence.dev/v1alpha1\nkind: TenantIsolation\nmetadata: {name: b}\nspec: {}',
  'apiVersion: v1\nkind: Namespace\nmetadata: {name: a1, labels: {netfence.dev/tenant: a}}',
  'apiVersion: v1\nkind: Namespace\nmetadata: {name: b1, labels: {netfence.dev/tenant: b}}',
);
const CONFLICT = yaml(
  'apiVersion: netfence.dev/v1alpha1\nkind: TenantIsolation\nmetadata: {name: a}\nspec: {namespaces: [shared]}',
  'apiVersion: netfence.dev/v1alpha1\nkind: TenantIsolation\nmetadata: {name: b}\nspec: {namespaces: [shared]}',
  'apiVersion: v1\nkind: Namespace\nmetadata: {name: shared}',
);
const HOST_NETWORK_DEPLOYMENT = yaml(
  TENANTS.replace('{ingress: {from: [{tenant: ghost}]}}', '{}'),
  'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: agent, namespace: a1}\nspec:\n  selector: {matchLabels: {app: agent}}\n  template:\n    metadata: {labels: {app: agent}}\n    spec:\n      hostNetwork: true\n      containers: [{name: c, image: i}]',
);

describe('netfence check and its findings', () => {
  test('a warning is listed with its category and passes; with --strict it fails', async () => {
    const r = await runNetfence(['check', '-f', '-'], TENANTS);
    expect(r.stdout).toContain('no path crosses a tenant fence undeclared');
    expect(r.stdout).toContain('findings: 0 errors, 1 warning (warnings fail the check with --strict)');
    expect(r.stdout).toContain('  warning  unknown-peer        tenant a: spec.ingress.from[0]: peer tenant "ghost" does not exist; the peer allows nothing');
    expect(r.code).toBe(0);
    const strict = await runNetfence(['check', '--strict', '-f', '-'], TENANTS);
    expect(strict.stdout).toContain('(--strict: warnings fail the check)');
    expect(strict.code).toBe(1);
  });

  test('a conflict fails the check without --strict, in text and JSON alike', async () => {
    const r = await runNetfence(['check', '-f', '-'], CONFLICT);
    expect(r.stdout).toContain('  error    conflict            namespace shared is claimed by tenants a, b');
    expect(r.code).toBe(1);
    const j = await runNetfence(['check', '-o', 'json', '-f', '-'], CONFLICT);
    const out = JSON.parse(j.stdout) as { failed: boolean; findings: Finding[]; summary: { errors: number } };
    expect(out.findings.map((f) => [f.category, f.severity, f.namespace])).toEqual([['conflict', 'error', 'shared']]);
    expect(out.summary.errors).toBe(1);
    expect(out.failed).toBe(true);
    expect(j.code).toBe(1);
  });

  test('a Deployment with hostNetwork in a tenant is a host-network finding naming the workload', async () => {
    const r = await runNetfence(['check', '-o', 'json', '-f', '-'], HOST_NETWORK_DEPLOYMENT);
    const out = JSON.parse(r.stdout) as { findings: Finding[]; failed: boolean };
    expect(out.findings.map((f) => `${f.category} ${f.message}`)).toEqual([
      'host-network a1/deployment/agent (tenant a) uses hostNetwork: NetworkPolicy does not apply to it, so it is outside the fence whatever the policies say',
    ]);
    expect(out.failed).toBe(false);
    expect((await runNetfence(['check', '--strict', '-f', '-'], HOST_NETWORK_DEPLOYMENT)).code).toBe(1);
  });

  test('text lists ten findings of a category and counts the rest; --verbose lists them all', async () => {
    const pods = Array.from({ length: 12 }, (_, i) => `apiVersion: v1\nkind: Pod\nmetadata: {name: p${i}, namespace: a1, labels: {netfence.dev/expose-x: "true"}}`);
    const input = yaml(TENANTS.replace('{ingress: {from: [{tenant: ghost}]}}', '{}'), ...pods);
    const r = await runNetfence(['check', '-f', '-'], input);
    expect(r.stdout.match(/^ {2}warning {2}exposure-label/gm)).toHaveLength(10);
    expect(r.stdout).toContain('\n  ... and 2 more exposure-label findings (--verbose lists them)\n');
    expect((await runNetfence(['check', '--verbose', '-f', '-'], input)).stdout.match(/^ {2}warning {2}exposure-label/gm)).toHaveLength(12);
  });

  test('--exclude-namespace and --operator-namespace give the reason an asking namespace stays out', async () => {
    const asking = yaml(
      TENANTS.replace('{ingress: {from: [{tenant: ghost}]}}', '{}'),
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: tools, labels: {netfence.dev/tenant: b}}',
    );
    const flagged = await runNetfence(['check', '--exclude-namespace', 'tools', '-f', '-'], asking);
    expect(flagged.stdout).toContain(
      'namespace tools has the label netfence.dev/tenant=b but does not join tenant b: the settings keep it from joining by selector or label (given to --exclude-namespace)',
    );
    const operator = await runNetfence(['check', '--operator-namespace', 'tools', '-f', '-'], asking);
    expect(operator.stdout).toContain('(the operator\u2019s own namespace)');
    expect((await runNetfence(['check', '-f', '-'], asking)).stdout).not.toContain('excluded-namespace');
  });
});
