/**
 * The Argo CD health check (config/argocd/health.lua) on hand-made TenantIsolations, run by
 * wasmoon: the states the operator writes rarely or only for a moment, and objects missing
 * the parts it reads. The argocd-cm patch must hold the script byte for byte, and every
 * command of docs/gitops-health.md must be one an integration suite runs.
 * (test/integration/argocd-health.test.ts runs the check on what the operator really writes.)
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ARGOCD_CM_PATCH, argoHealth, docCommands, HEALTH_KEY, HEALTH_LUA } from '../kstatus/support.js';

type Cond = { type: string; status: string; reason: string; message?: string; observedGeneration?: number };

const tenant = (generation: number | undefined, observed: number | undefined, conditions: Cond[] | undefined) => ({
  apiVersion: 'netfence.dev/v1alpha1',
  kind: 'TenantIsolation',
  metadata: { name: 'team-a', ...(generation !== undefined ? { generation } : {}) },
  spec: {},
  ...(conditions !== undefined || observed !== undefined
    ? { status: { ...(observed !== undefined ? { observedGeneration: observed } : {}), ...(conditions ? { conditions } : {}) } }
    : {}),
});

const ok = (g = 2): Cond[] => [
  { type: 'Ready', status: 'True', reason: 'Reconciled', message: '3 policies in place in 1 namespaces', observedGeneration: g },
  { type: 'Degraded', status: 'False', reason: 'Reconciled', message: 'no problems', observedGeneration: g },
  { type: 'Conflict', status: 'False', reason: 'NoConflict', message: 'no namespace is claimed by another tenant', observedGeneration: g },
];

describe('the Argo CD health check', () => {
  test('the argocd-cm patch holds health.lua byte for byte, under the key Argo CD reads', () => {
    const patch = parse(readFileSync(ARGOCD_CM_PATCH, 'utf8')) as { kind: string; metadata: { name: string }; data: Record<string, string> };
    expect(patch.kind).toBe('ConfigMap');
    expect(patch.metadata.name).toBe('argocd-cm');
    expect(Object.keys(patch.data)).toEqual([HEALTH_KEY]);
    expect(patch.data[HEALTH_KEY]).toBe(readFileSync(HEALTH_LUA, 'utf8'));
  });

  test('Healthy when Ready is True for the current generation', async () => {
    expect(await argoHealth(tenant(2, 2, ok()))).toEqual({ status: 'Healthy', message: 'Reconciled: 3 policies in place in 1 namespaces' });
  });

  test('Progressing without status, without conditions, or with an empty list', async () => {
    for (const t of [tenant(1, undefined, undefined), tenant(1, 1, undefined), tenant(1, 1, [])]) {
      expect(await argoHealth(t)).toEqual({ status: 'Progressing', message: 'Waiting for the netfence operator to report status' });
    }
  });

  test('Progressing while observedGeneration is behind or missing, even with Degraded True from before', async () => {
    const degradedBefore = ok(1).map((c) => (c.type === 'Degraded' ? { ...c, status: 'True', reason: 'ApplyFailed' } : c));
    expect(await argoHealth(tenant(2, 1, degradedBefore))).toEqual({ status: 'Progressing', message: 'Waiting for the netfence operator to observe generation 2 (observed 1)' });
    expect(await argoHealth(tenant(2, undefined, ok()))).toEqual({ status: 'Progressing', message: 'Waiting for the netfence operator to observe generation 2 (observed none)' });
  });

  test('Progressing when Ready is False with Progressing, or Unknown, or missing', async () => {
    const progressing = ok().map((c) => (c.type === 'Ready' ? { ...c, status: 'False', reason: 'Progressing', message: '1 of 3 policies in place' } : c));
    expect(await argoHealth(tenant(2, 2, progressing))).toEqual({ status: 'Progressing', message: 'Progressing: 1 of 3 policies in place' });
    const unknown = ok().map((c) => (c.type === 'Ready' ? { ...c, status: 'Unknown', reason: 'Starting', message: '' } : c));
    expect(await argoHealth(tenant(2, 2, unknown))).toEqual({ status: 'Progressing', message: 'Starting' });
    expect(
      (
        await argoHealth(
          tenant(
            2,
            2,
            ok().filter((c) => c.type !== 'Ready'),
          ),
        )
      ).status,
    ).toBe('Progressing');
  });

  test('Degraded for Conflict True, Degraded True, or Ready False for a failure, Conflict named first', async () => {
    const conflict = ok().map((c) =>
      c.type === 'Conflict'
        ? { ...c, status: 'True', reason: 'NamespaceConflict', message: 'shared (claimed by a, b)' }
        : c.type === 'Degraded'
          ? { ...c, status: 'True', reason: 'NamespaceConflict', message: 'x' }
          : c,
    );
    expect(await argoHealth(tenant(2, 2, conflict))).toEqual({ status: 'Degraded', message: 'Conflict: NamespaceConflict: shared (claimed by a, b)' });
    const applyFailed = ok().map((c) => (c.type === 'Degraded' ? { ...c, status: 'True', reason: 'ApplyFailed', message: 'ns/deny: forbidden' } : c));
    expect(await argoHealth(tenant(2, 2, applyFailed))).toEqual({ status: 'Degraded', message: 'ApplyFailed: ns/deny: forbidden' });
    for (const reason of ['InvalidSpec', 'NamespaceConflict', 'ApplyFailed']) {
      const readyOnly = [{ type: 'Ready', status: 'False', reason, message: 'm', observedGeneration: 2 }];
      expect(await argoHealth(tenant(2, 2, readyOnly))).toEqual({ status: 'Degraded', message: `${reason}: m` });
    }
  });

  test('a condition from an older generation is not the answer for this one', async () => {
    expect(await argoHealth(tenant(3, 3, ok(2)))).toEqual({ status: 'Progressing', message: 'Waiting for the Ready condition of generation 3' });
  });

  test('an object without metadata.generation is judged by its conditions alone', async () => {
    expect((await argoHealth(tenant(undefined, undefined, ok()))).status).toBe('Healthy');
  });

  test('docs/gitops-health.md runs only the commands the integration suites run', () => {
    expect(docCommands().map((c) => c.split(' ').slice(0, 3).join(' '))).toEqual(['kubectl patch configmap', 'kubectl wait --for=condition=Ready']);
  });
});
