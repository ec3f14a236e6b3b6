/**
 * The monitoring kit (config/prometheus, config/grafana, docs/monitoring.md) against the
 * metrics the operator registers: every metric an alert or a dashboard panel reads exists
 * (a histogram's _bucket, _sum and _count read as the histogram), the ServiceMonitor selects
 * the metrics Service on a port it has, every alert has a severity, a summary, a description
 * and a runbook section in the docs, and the tenant state the new gauge counts is the one
 * the conditions tell. Building and applying the folders with kubectl is in
 * test/integration/monitoring.test.ts.
 */
import { readFileSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';
import { createMetrics, tenantState, TENANT_STATES } from '../../src/runtime/metrics.js';

interface Rule {
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface Panel {
  id: number;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr: string; datasource?: { type: string; uid: string } }[];
}

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const yamlOf = (path: string): Record<string, unknown>[] => parseAllDocuments(read(path)).map((d) => d.toJS() as Record<string, unknown>);

const kustomization = parse(read('config/prometheus/kustomization.yaml')) as { kind: string; resources: string[] };
const objects = kustomization.resources.flatMap((file) => yamlOf(`config/prometheus/${file}`));
/** The fields of the Service, ServiceMonitor and PrometheusRule the tests read. */
interface KubeObject {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: {
    ports?: { name: string }[];
    namespaceSelector?: { matchNames?: string[] };
    selector?: { matchLabels?: Record<string, string> };
    endpoints?: { port: string; path: string }[];
    groups?: { rules: Rule[] }[];
  };
}
const byKind = (kind: string): KubeObject[] => (objects as unknown as KubeObject[]).filter((o) => o.kind === kind);
const rules: Rule[] = byKind('PrometheusRule').flatMap((r) => (r.spec.groups ?? []).flatMap((g) => g.rules));
const dashboard = JSON.parse(read('config/grafana/netfence-dashboard.json')) as {
  schemaVersion: number;
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: string }[] };
};
const docs = read('docs/monitoring.md');

/**
 * The netfence metric names a PromQL expression reads: identifiers outside quoted strings
 * that start with `netfence_`, a histogram's series suffix dropped when the histogram exists.
 */
function metricNames(expr: string, histograms: ReadonlySet<string>): string[] {
  const unquoted = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  const names = new Set<string>();
  for (const [name] of unquoted.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    if (!name.startsWith('netfence_')) continue;
    const series = /^(.*)_(bucket|sum|count)$/.exec(name);
    names.add(series?.[1] !== undefined && histograms.has(series[1]) ? series[1] : name);
  }
  return [...names];
}

async function registered(): Promise<{ names: Set<string>; histograms: Set<string> }> {
  const all = await createMetrics({ defaultMetrics: false }).registry.getMetricsAsJSON();
  return { names: new Set(all.map((m) => m.name)), histograms: new Set(all.filter((m) => String(m.type) === 'histogram').map((m) => m.name)) };
}

/** GitHub's anchor of a Markdown heading. */
const anchorOf = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');
const anchors = new Set([...docs.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1] as string)));

describe('the metric-name tokenizer', () => {
  test('reads metric names, maps histogram series to their histogram, and skips quoted strings and other names', () => {
    const histograms = new Set(['netfence_plan_duration_seconds']);
    const expr =
      'histogram_quantile(0.9, sum by (le) (rate(netfence_plan_duration_seconds_bucket[5m]))) / up{job="netfence_not_a_metric"} + netfence_api_writes_total + netfence_other_count';
    expect(metricNames(expr, histograms).sort()).toEqual(['netfence_api_writes_total', 'netfence_other_count', 'netfence_plan_duration_seconds']);
  });
});

describe('config/prometheus', () => {
  test('is a kustomize Component holding one ServiceMonitor and one PrometheusRule', () => {
    expect(kustomization.kind).toBe('Component');
    expect(objects.map((o) => o['kind']).sort()).toEqual(['PrometheusRule', 'ServiceMonitor']);
  });

  test('its ServiceMonitor selects the metrics Service, in its namespace, on a port the Service names', () => {
    const [service] = yamlOf('config/manager/metrics_service.yaml') as unknown as KubeObject[];
    const [monitor] = byKind('ServiceMonitor');
    expect(monitor?.metadata.namespace).toBe(service?.metadata.namespace);
    expect(monitor?.spec.namespaceSelector?.matchNames).toEqual([service?.metadata.namespace]);
    const selector = Object.entries(monitor?.spec.selector?.matchLabels ?? {});
    expect(selector.length).toBeGreaterThan(0);
    for (const [key, value] of selector) expect(service?.metadata.labels?.[key]).toBe(value);
    const ports = (service?.spec.ports ?? []).map((p) => p.name);
    const endpoints = monitor?.spec.endpoints ?? [];
    expect(endpoints.length).toBeGreaterThan(0);
    for (const e of endpoints) {
      expect(ports).toContain(e.port);
      expect(e.path).toBe('/metrics');
    }
  });

  test('has the alerts the docs describe, each with a severity, a summary, a description and a runbook section in docs/monitoring.md', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual(
      [
        'NetfenceNoLeader',
        'NetfencePlanSlow',
        'NetfenceReconcileErrors',
        'NetfenceTenantConflict',
        'NetfenceTenantDegraded',
        'NetfenceUnfencedNamespaces',
        'NetfenceWatchRestarts',
      ].sort(),
    );
    for (const rule of rules) {
      expect([rule.alert, rule.labels?.['severity']]).toEqual([rule.alert, expect.stringMatching(/^(critical|warning)$/)]);
      expect(rule.annotations?.['summary']?.length).toBeGreaterThan(0);
      expect(rule.annotations?.['description']?.length).toBeGreaterThan(0);
      expect(rule.for).toMatch(/^\d+m$/);
      const section = /^docs\/monitoring\.md#([a-z0-9-]+): \S/.exec(rule.annotations?.['runbook'] ?? '')?.[1];
      expect([rule.alert, section]).toEqual([rule.alert, (rule.alert ?? '').toLowerCase()]);
      expect([rule.alert, anchors.has(section ?? '')]).toEqual([rule.alert, true]);
    }
  });

  test('annotation templates use only what Prometheus can parse: a label, $value, and a pipe to a function (Go templates have no arithmetic)', () => {
    const action = /^\s*(\$labels\.[a-z_]+|\$value(\s*\|\s*(humanize|humanizeDuration|humanizePercentage|printf "[^"]*"))?)\s*$/;
    const actions = rules.flatMap((r) => Object.values(r.annotations ?? {}).flatMap((text) => [...text.matchAll(/\{\{(.*?)\}\}/g)].map((m) => [r.alert, m[1] ?? ''])));
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter(([, inner]) => !action.test(inner ?? ''))).toEqual([]);
  });

  test('the tenant-state alerts wait 10 minutes, the leader and unfenced ones 5 and are critical', () => {
    const of = (name: string): Rule | undefined => rules.find((r) => r.alert === name);
    for (const name of ['NetfenceTenantConflict', 'NetfenceTenantDegraded']) expect(of(name)?.for).toBe('10m');
    for (const name of ['NetfenceNoLeader', 'NetfenceUnfencedNamespaces']) expect([of(name)?.for, of(name)?.labels?.['severity']]).toEqual(['5m', 'critical']);
    expect(of('NetfenceTenantConflict')?.expr).toContain('state="conflict"');
    expect(of('NetfenceTenantDegraded')?.expr).toContain('state="degraded"');
  });

  test('every metric an alert reads is one the operator registers', async () => {
    const { names, histograms } = await registered();
    for (const rule of rules) {
      const read = metricNames(rule.expr, histograms);
      expect([rule.alert, read.length > 0]).toEqual([rule.alert, true]);
      for (const name of read) expect([rule.alert, name, names.has(name)]).toEqual([rule.alert, name, true]);
    }
  });
});

describe('config/grafana/netfence-dashboard.json', () => {
  const targets = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));

  test('is a current Grafana dashboard whose every panel and query reads the datasource variable', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }));
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    for (const p of dashboard.panels) {
      expect([p.title, p.datasource?.uid]).toEqual([p.title, '${datasource}']);
      expect([p.title, (p.targets ?? []).length > 0]).toEqual([p.title, true]);
    }
    for (const t of targets) expect([t.panel, t.datasource?.uid, t.refId]).toEqual([t.panel, '${datasource}', expect.stringMatching(/^[A-Z]$/)]);
  });

  test('every metric a panel reads is one the operator registers, and it shows what an operator of netfence watches', async () => {
    const { names, histograms } = await registered();
    const shown = new Set<string>();
    for (const t of targets) {
      const read = metricNames(t.expr, histograms);
      expect([t.panel, read.length > 0]).toEqual([t.panel, true]);
      for (const name of read) {
        expect([t.panel, name, names.has(name)]).toEqual([t.panel, name, true]);
        shown.add(name);
      }
    }
    for (const name of [
      'netfence_tenants_by_state',
      'netfence_managed_policies',
      'netfence_drift_corrections_total',
      'netfence_reconcile_duration_seconds',
      'netfence_plan_duration_seconds',
      'netfence_api_writes_total',
      'netfence_queue_depth',
      'netfence_unfenced_namespaces',
      'netfence_leader',
    ]) {
      expect([name, shown.has(name)]).toEqual([name, true]);
    }
    const latency = targets.filter((t) => t.expr.includes('netfence_reconcile_duration_seconds_bucket')).map((t) => t.expr);
    expect(latency.some((e) => e.startsWith('histogram_quantile(0.5,') && e.includes('by (kind, le)'))).toBe(true);
    expect(latency.some((e) => e.startsWith('histogram_quantile(0.99,') && e.includes('by (kind, le)'))).toBe(true);
  });
});

describe('netfence_tenants_by_state', () => {
  const tenant = (conditions: [string, string][], generation = 2, observedGeneration: number | undefined = 2) => ({
    metadata: { generation },
    status: { observedGeneration, conditions: conditions.map(([type, status]) => ({ type, status })) },
  });

  test('puts each tenant in the first state that holds: conflict, degraded, ready for its generation, progressing, unknown', () => {
    expect(tenantState({ metadata: { generation: 1 } })).toBe('unknown');
    expect(tenantState(tenant([]))).toBe('unknown');
    expect(
      tenantState(
        tenant([
          ['Ready', 'True'],
          ['Degraded', 'False'],
          ['Conflict', 'False'],
        ]),
      ),
    ).toBe('ready');
    expect(
      tenantState(
        tenant(
          [
            ['Ready', 'True'],
            ['Degraded', 'False'],
          ],
          3,
          2,
        ),
      ),
    ).toBe('progressing');
    expect(
      tenantState(
        tenant([
          ['Ready', 'False'],
          ['Degraded', 'False'],
          ['Conflict', 'False'],
        ]),
      ),
    ).toBe('progressing');
    expect(
      tenantState(
        tenant([
          ['Ready', 'False'],
          ['Degraded', 'True'],
          ['Conflict', 'False'],
        ]),
      ),
    ).toBe('degraded');
    expect(
      tenantState(
        tenant([
          ['Ready', 'False'],
          ['Degraded', 'True'],
          ['Conflict', 'True'],
        ]),
      ),
    ).toBe('conflict');
  });

  test('exports every state from the start, at 0', async () => {
    const text = await createMetrics({ defaultMetrics: false }).registry.metrics();
    for (const state of TENANT_STATES) expect(text).toContain(`netfence_tenants_by_state{state="${state}"} 0`);
  });
});
