/**
 * The monitoring kit against the operator on a real API server: every metric the alerts of
 * config/prometheus and the panels of config/grafana read is in the operator's /metrics
 * (a histogram they read through _bucket with buckets, once a tenant has been onboarded), the
 * tenants are counted by the state their conditions tell, and every command in the shell
 * blocks of docs/monitoring.md runs as written with the control plane's kubectl: the
 * ServiceMonitor and PrometheusRule apply (on stand-in monitoring.coreos.com CRDs: no
 * Prometheus Operator runs here), the overlay of config/default with the Component passes a
 * server-side dry run (applying it would install the admission guard on the API server the
 * other suites share), the dashboard ConfigMap holds the dashboard file, and the runbook
 * commands show the conflict they are for.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { TENANT_LABEL } from '../../src/api/constants.js';
import { createMetrics } from '../../src/runtime/metrics.js';
import { isUnavailable, provideBinaries, type Binaries } from '../control-plane/binaries.js';
import { cluster, describeWithControlPlane, eventually, REPO_ROOT, uniqueName, type Cluster } from './support/cluster.js';
import { condition, installForOperator, OPERATOR_NAMESPACE, runOperator, scrapeMetrics, sumOf, World, type RunningOperator } from './support/operator.js';

const read = (path: string): string => readFileSync(join(REPO_ROOT, path), 'utf8');

/** The netfence metric names a PromQL expression reads (as test/unit/monitoring.test.ts tokenizes them), with the series suffix each was read through. */
function metricNames(expr: string, histograms: ReadonlySet<string>): { name: string; suffix?: string }[] {
  const unquoted = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  const out: { name: string; suffix?: string }[] = [];
  for (const [token] of unquoted.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    if (!token.startsWith('netfence_')) continue;
    const series = /^(.*)_(bucket|sum|count)$/.exec(token);
    out.push(series?.[1] !== undefined && histograms.has(series[1]) ? { name: series[1], suffix: series[2] } : { name: token });
  }
  return out;
}

function expressions(): string[] {
  const rules = parseAllDocuments(read('config/prometheus/prometheus_rule.yaml')).map((d) => d.toJS() as { spec: { groups: { rules: { expr: string }[] }[] } });
  const dashboard = JSON.parse(read('config/grafana/netfence-dashboard.json')) as { panels: { targets?: { expr: string }[] }[] };
  return [...rules.flatMap((r) => r.spec.groups.flatMap((g) => g.rules.map((x) => x.expr))), ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr))];
}

/** Every line of the ```sh blocks of docs/monitoring.md. */
function docCommands(): string[] {
  return [...read('docs/monitoring.md').matchAll(/^```sh\n([\s\S]*?)^```$/gm)].flatMap((m) => (m[1] as string).split('\n').filter((l) => l.trim() !== ''));
}

/** The overlay the docs show, in a copy of config/ and crds/ where `../config/...` resolves. */
function docOverlay(): string {
  const block = /^```yaml\n# my-netfence\/kustomization\.yaml\n([\s\S]*?)^```$/m.exec(read('docs/monitoring.md'))?.[1];
  if (block === undefined) throw new Error('docs/monitoring.md shows no my-netfence/kustomization.yaml');
  const root = mkdtempSync(join(tmpdir(), 'netfence-monitoring-'));
  cpSync(join(REPO_ROOT, 'config'), join(root, 'config'), { recursive: true });
  cpSync(join(REPO_ROOT, 'crds'), join(root, 'crds'), { recursive: true });
  mkdirSync(join(root, 'my-netfence'));
  writeFileSync(join(root, 'my-netfence', 'kustomization.yaml'), block);
  return root;
}

/** Stand-ins for the Prometheus Operator's CRDs: the kinds and scopes, any content. */
const STAND_IN_CRDS = [
  ['servicemonitors', 'ServiceMonitor'],
  ['prometheusrules', 'PrometheusRule'],
].map(([plural, kind]) => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${plural}.monitoring.coreos.com` },
  spec: {
    group: 'monitoring.coreos.com',
    scope: 'Namespaced',
    names: { plural, singular: kind?.toLowerCase(), kind },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } },
      },
    ],
  },
}));

describeWithControlPlane('the monitoring kit against the operator on a real API server', () => {
  let world: Cluster;
  let admin: World;
  let op: RunningOperator;
  let binaries: Binaries;
  let overlay: string | undefined;
  const [ready, ownNs] = [uniqueName('mon-ready'), uniqueName('mon-ready-ns')];
  const [claimA, claimB, shared] = [uniqueName('mon-claim-a'), uniqueName('mon-claim-b'), uniqueName('mon-shared')];

  const kubectl = (args: string[], cwd = REPO_ROOT) => {
    const result = spawnSync(binaries.kubectl, ['--kubeconfig', world.state.admin?.kubeconfig ?? '', ...args], {
      cwd,
      encoding: 'utf8',
      env: { PATH: process.env['PATH'] ?? '', HOME: '/nonexistent' },
      timeout: 60_000,
    });
    return { code: result.status ?? -1, stdout: result.stdout ?? '', stderr: result.stderr ?? String(result.error ?? '') };
  };

  beforeAll(async () => {
    world = cluster();
    admin = new World(world.admin);
    const provided = await provideBinaries({ log: () => undefined });
    if (isUnavailable(provided)) throw new Error(`no control-plane binaries: ${provided.unavailable}`);
    binaries = provided;
    await installForOperator(world);
    const kubeconfig = world.state.operator?.kubeconfig;
    if (!kubeconfig) throw new Error('the control plane recorded no operator kubeconfig');
    op = await runOperator(kubeconfig, ['--lease-name', uniqueName('lease')]);
    // One tenant Ready (histograms observed on the way), two in Conflict over a namespace.
    await admin.tenant(ready, {});
    await admin.namespace(ownNs, { [TENANT_LABEL]: ready });
    await admin.namespace(shared);
    await admin.tenant(claimA, { namespaces: [shared] });
    await admin.tenant(claimB, { namespaces: [shared] });
    await admin.until(
      `${ready} is Ready`,
      () => admin.getTenant(ready),
      (t) => condition(t, 'Ready')?.status === 'True',
    );
    for (const name of [claimA, claimB])
      await admin.until(
        `${name} reports the conflict`,
        () => admin.getTenant(name),
        (t) => condition(t, 'Conflict')?.status === 'True',
      );
  }, 120_000);

  afterAll(async () => {
    if (overlay) rmSync(overlay, { recursive: true, force: true });
    for (const name of [ready, claimA, claimB]) await admin?.deleteTenant(name).catch(() => undefined);
    if (op) expect(await op.stop()).toBe(0);
  });

  test('counts the tenants by state: the Ready one and the two in Conflict, each in one state', async () => {
    // The gauge follows the statuses in the cache at the next plan or within 5 s.
    const metrics = await eventually('the conflicts are counted', async () => {
      const m = await scrapeMetrics(op.metricsPort);
      return sumOf(m, 'netfence_tenants_by_state', ['state="conflict"']) >= 2 && sumOf(m, 'netfence_tenants_by_state', ['state="ready"']) >= 1 ? m : undefined;
    });
    expect(sumOf(metrics, 'netfence_tenants_by_state')).toBe(metrics.get('netfence_tenants'));
    for (const state of ['ready', 'progressing', 'degraded', 'conflict', 'unknown']) expect(metrics.has(`netfence_tenants_by_state{state="${state}"}`)).toBe(true);
  });

  test('serves every metric the alerts and the dashboard read; a histogram read through _bucket has buckets', async () => {
    const all = await createMetrics({ defaultMetrics: false }).registry.getMetricsAsJSON();
    const histograms = new Set(all.filter((m) => String(m.type) === 'histogram').map((m) => m.name));
    const text = await (await fetch(`http://127.0.0.1:${op.metricsPort}/metrics`)).text();
    const read = expressions().flatMap((e) => metricNames(e, histograms));
    expect(read.length).toBeGreaterThan(10);
    for (const { name, suffix } of read) {
      expect([name, text.includes(`\n# TYPE ${name} `)]).toEqual([name, true]);
      if (suffix === 'bucket') expect([name, text.includes(`\n${name}_bucket{`)]).toEqual([name, true]);
    }
  });

  test('every command of docs/monitoring.md runs as written', async () => {
    const commands = docCommands();
    expect(commands.sort()).toEqual(
      [
        'kubectl label namespace monitoring netfence.dev/metrics-scraper=true',
        'kubectl apply --server-side -k my-netfence',
        'kubectl apply --server-side -k config/prometheus',
        'kubectl apply --server-side -k config/grafana',
        'kubectl get pods,lease -n netfence-system',
        'kubectl get tenantisolations -o custom-columns=NAME:.metadata.name,CONFLICTS:.status.conflictingNamespaces',
        'kubectl describe tenantisolation NAME',
      ].sort(),
    );
    const run = (command: string, cwd?: string) => {
      const result = kubectl(command.split(' ').slice(1), cwd);
      expect([command, result.code, result.stderr]).toEqual([command, 0, '']);
      return result.stdout;
    };
    // Raw JSON: client-node's typed CRD model would drop x-kubernetes-preserve-unknown-fields.
    for (const crd of STAND_IN_CRDS) {
      await admin.api.request({
        method: 'PATCH',
        path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
        query: { fieldManager: 'netfence-test', force: true },
        contentType: 'application/apply-patch+yaml',
        body: crd,
      });
    }
    await eventually('the stand-in CRDs serve', () => Promise.resolve(kubectl(['get', 'servicemonitors,prometheusrules', '-A']).code === 0 ? true : undefined));
    await admin.namespace('monitoring');

    run('kubectl label namespace monitoring netfence.dev/metrics-scraper=true');
    expect(
      (await admin.api.request<{ metadata: { labels?: Record<string, string> } }>({ method: 'GET', path: '/api/v1/namespaces/monitoring' })).metadata.labels?.[
        'netfence.dev/metrics-scraper'
      ],
    ).toBe('true');

    const applied = run('kubectl apply --server-side -k config/prometheus');
    for (const object of ['servicemonitor.monitoring.coreos.com/netfence', 'prometheusrule.monitoring.coreos.com/netfence'])
      expect(applied).toContain(`${object} serverside-applied`);
    const monitor = await admin.api.request<{ spec: { endpoints: { port: string }[] } }>({
      method: 'GET',
      path: `/apis/monitoring.coreos.com/v1/namespaces/${OPERATOR_NAMESPACE}/servicemonitors/netfence`,
    });
    expect(monitor.spec.endpoints.map((e) => e.port)).toEqual(['metrics']);
    const rule = await admin.api.request<{ spec: { groups: { rules: unknown[] }[] } }>({
      method: 'GET',
      path: `/apis/monitoring.coreos.com/v1/namespaces/${OPERATOR_NAMESPACE}/prometheusrules/netfence`,
    });
    expect(rule.spec.groups[0]?.rules.length).toBe(7);

    overlay = docOverlay();
    // Forced: the suites applied the CRD and config/rbac here under a field manager of their own.
    const dryRun = kubectl(['apply', '--server-side', '-k', 'my-netfence', '--dry-run=server', '--force-conflicts'], overlay);
    expect([dryRun.code, dryRun.stderr]).toEqual([0, '']);
    for (const kind of ['deployment.apps/netfence-manager', 'servicemonitor.monitoring.coreos.com/netfence', 'prometheusrule.monitoring.coreos.com/netfence'])
      expect(dryRun.stdout).toContain(kind);

    run('kubectl apply --server-side -k config/grafana');
    const configMap = await admin.api.request<{ metadata: { labels?: Record<string, string> }; data: Record<string, string> }>({
      method: 'GET',
      path: '/api/v1/namespaces/monitoring/configmaps/netfence-dashboard',
    });
    expect(configMap.metadata.labels?.['grafana_dashboard']).toBe('1');
    expect(configMap.data['netfence-dashboard.json']).toBe(read('config/grafana/netfence-dashboard.json'));

    // The runbook commands, on the state their alerts are for.
    expect(run('kubectl get pods,lease -n netfence-system')).toMatch(/^lease\.coordination\.k8s\.io\/lease-/m);
    const columns = run('kubectl get tenantisolations -o custom-columns=NAME:.metadata.name,CONFLICTS:.status.conflictingNamespaces');
    expect(columns).toMatch(new RegExp(`^${claimA}\\s+\\[${shared}\\]$`, 'm'));
    const described = kubectl(['describe', 'tenantisolation', claimA]);
    expect(described.code).toBe(0);
    expect(described.stdout).toMatch(/Type:\s+Degraded/);
  }, 120_000);

  test("config/prometheus builds with kubectl's kustomize to the objects the docs name", () => {
    const built = kubectl(['kustomize', 'config/prometheus']);
    expect(built.code).toBe(0);
    const objects = parseAllDocuments(built.stdout).map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace: string } });
    expect(objects.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`).sort()).toEqual([
      `PrometheusRule ${OPERATOR_NAMESPACE}/netfence`,
      `ServiceMonitor ${OPERATOR_NAMESPACE}/netfence`,
    ]);
    expect((parse(read('config/prometheus/kustomization.yaml')) as { kind: string }).kind).toBe('Component');
  });
});
