/** The reachability picture `netfence matrix` draws: cells, reach, ports and fences. */
import type { NetworkPolicy } from '../../src/api/k8s.js';
import type { TenantIsolationSpec } from '../../src/api/types.js';
import { buildMatrix } from '../../src/analysis/matrix.js';
import type { Matrix, MatrixCell } from '../../src/analysis/matrix-model.js';
import { buildScene } from '../../src/analysis/scene.js';
import { defaultSettings } from '../../src/compiler/settings.js';
import { memberNs, ns, pod, tenant } from '../fixtures/builders.js';

function cell(m: Matrix, from: string, to: string): MatrixCell {
  const i = m.entries.findIndex((e) => e.id === from);
  const j = m.entries.findIndex((e) => e.id === to);
  if (i < 0 || j < 0) throw new Error(`no entry ${i < 0 ? from : to}: ${m.entries.map((e) => e.id).join(', ')}`);
  return m.cells[i]?.[j] as MatrixCell;
}

function report(aSpec: TenantIsolationSpec, policies: NetworkPolicy[] = []) {
  const scene = buildScene(
    {
      tenants: [tenant('a', aSpec), tenant('b', { egress: { to: [{ tenant: 'a', ports: [{ port: 8443 }] }] } })],
      namespaces: [memberNs('a1', 'a'), memberNs('a2', 'a'), memberNs('b1', 'b'), ns('kube-system'), ns('ops'), ns('empty')],
      pods: [
        pod('a1', 'web', { app: 'web' }),
        pod('a1', 'db', { app: 'db' }),
        pod('a2', 'job'),
        pod('b1', 'api'),
        pod('kube-system', 'dns', { 'k8s-app': 'kube-dns' }),
        pod('ops', 'tool'),
      ],
      policies,
      settings: defaultSettings(),
    },
    'planned',
  );
  return buildMatrix(scene, 'test');
}

describe('the matrix', () => {
  test('lists tenants, namespaces outside tenants and the outside of the cluster, and namespaces grouped by tenant', () => {
    const r = report({});
    expect(r.tenants.entries.map((e) => e.id)).toEqual(['tenant:a', 'tenant:b', 'namespace:empty', 'namespace:kube-system', 'namespace:ops', 'external', 'metadata']);
    expect(r.namespaces.entries.map((e) => e.id)).toEqual([
      'namespace:a1',
      'namespace:a2',
      'namespace:b1',
      'namespace:empty',
      'namespace:kube-system',
      'namespace:ops',
      'external',
      'metadata',
    ]);
    expect(r.tenants.entries[0]?.detail).toBe('2 namespaces, 3 pods');
    expect(r.namespaces.entries.find((e) => e.id === 'namespace:empty')?.detail).toBe('no pods in the input: the pods that could exist');
  });

  test('marks traffic inside a tenant as same, a path both sides declare as declared, and denied pairs as none', () => {
    const r = report({ ingress: { from: [{ tenant: 'b', ports: [{ port: 8443 }] }] } });
    expect(cell(r.tenants, 'tenant:a', 'tenant:a')).toEqual({ reach: 'all', ports: 'any', fence: 'same' });
    expect(cell(r.tenants, 'tenant:b', 'tenant:a')).toEqual({ reach: 'all', ports: 'TCP 8443', fence: 'declared' });
    expect(cell(r.tenants, 'tenant:a', 'tenant:b')).toEqual({ reach: 'none', ports: '', fence: 'none' });
    // Only the DNS pods: a pod that could be created in kube-system without k8s-app=kube-dns is out of reach.
    expect(cell(r.tenants, 'tenant:a', 'namespace:kube-system')).toEqual({ reach: 'some', ports: 'TCP 53; UDP 53', fence: 'declared' });
    expect(cell(r.tenants, 'tenant:a', 'metadata')).toEqual({ reach: 'none', ports: '', fence: 'none' });
    expect(cell(r.tenants, 'namespace:ops', 'namespace:kube-system')).toEqual({ reach: 'all', ports: 'any', fence: 'unfenced' });
    expect(cell(r.tenants, 'namespace:ops', 'external')).toEqual({ reach: 'all', ports: 'any', fence: 'unfenced' });
    expect(r.violations).toBe(0);
  });

  test('marks a hand-written opening as a violation, and some reach when only some pods are opened', () => {
    const openDb: NetworkPolicy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { namespace: 'a1', name: 'db-open' },
      spec: { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ ports: [{ port: 5432 }] }] },
    };
    const r = report({}, [openDb]);
    expect(cell(r.namespaces, 'namespace:ops', 'namespace:a1')).toEqual({ reach: 'some', ports: 'TCP 5432', fence: 'violation' });
    expect(cell(r.tenants, 'namespace:ops', 'tenant:a')).toEqual({ reach: 'some', ports: 'TCP 5432', fence: 'violation' });
    expect(cell(r.namespaces, 'external', 'namespace:a1')).toEqual({ reach: 'some', ports: 'TCP 5432', fence: 'violation' });
    expect(cell(r.namespaces, 'namespace:ops', 'namespace:a2')).toEqual({ reach: 'none', ports: '', fence: 'none' });
    expect(r.violations).toBeGreaterThan(0);
  });

  test('marks undeclared paths across an Audit tenant as audit, not violation', () => {
    const r = report({ mode: 'Audit' });
    expect(cell(r.tenants, 'namespace:ops', 'tenant:a')).toEqual({ reach: 'all', ports: 'any', fence: 'audit' });
    expect(cell(r.tenants, 'tenant:a', 'metadata').fence).toBe('audit');
    expect(r.violations).toBe(0);
  });
});
