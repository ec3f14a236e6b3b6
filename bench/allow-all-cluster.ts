/**
 * The cluster of the day before netfence is installed: N namespaces in N/10 tenants (joining
 * by the tenant label), each namespace with a hand-written allow-all NetworkPolicy
 * (`ingress: [{}]`, `egress: [{}]`) and a few pods, plus the cluster DNS pod. Every tenant is
 * open to everyone, so `check` finds paths between nearly every pair of namespaces. Each
 * policy has a name of its own (`open-<i>`), as hand-written policies do, so no two
 * namespaces fall into one class: the worst case for the size of the report. Shared by
 * bench/check-report.ts and the report tests.
 */
import type { Namespace, NetworkPolicy, Pod } from '../src/api/k8s.js';
import type { TenantIsolation } from '../src/api/types.js';

export interface AllowAllCluster {
  tenants: TenantIsolation[];
  namespaces: Namespace[];
  pods: Pod[];
  policies: NetworkPolicy[];
}

const APPS = ['web', 'api', 'db'];

export function allowAllCluster(nNamespaces: number, podsPerNamespace = 3): AllowAllCluster {
  const nTenants = Math.max(1, Math.floor(nNamespaces / 10));
  const tenants: TenantIsolation[] = Array.from({ length: nTenants }, (_, t) => ({
    apiVersion: 'netfence.dev/v1alpha1',
    kind: 'TenantIsolation',
    metadata: { name: `t${t}` },
    spec: {},
  }));
  const namespaces: Namespace[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } }];
  const pods: Pod[] = [{ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'kube-system', name: 'coredns', labels: { 'k8s-app': 'kube-dns' } } }];
  const policies: NetworkPolicy[] = [];
  for (let i = 0; i < nNamespaces; i++) {
    const name = `ns-${i}`;
    namespaces.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'netfence.dev/tenant': `t${i % nTenants}` } } });
    for (let p = 0; p < podsPerNamespace; p++) {
      const app = APPS[p % APPS.length] as string;
      pods.push({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: name, name: `${app}-${p}`, labels: { app } } });
    }
    policies.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { namespace: name, name: `open-${i}` },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [{}], egress: [{}] },
    });
  }
  return { tenants, namespaces, pods, policies };
}

/** The cluster as the manifests `netfence check -f` reads: one JSON List. */
export function allowAllManifest(nNamespaces: number, podsPerNamespace?: number): string {
  const c = allowAllCluster(nNamespaces, podsPerNamespace);
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...c.namespaces, ...c.tenants, ...c.pods, ...c.policies] });
}
