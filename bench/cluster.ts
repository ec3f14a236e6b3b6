/**
 * The generated cluster the benchmarks share: tenants joining by label, by name and by
 * selector, peers of every kind, exposures, and pods with a few label values.
 */
import type { Namespace } from '../src/api/k8s.js';
import type { Peer, TenantIsolation } from '../src/api/types.js';
import type { CompileInput, PodLabels } from '../src/compiler/compile.js';
import { defaultSettings } from '../src/compiler/settings.js';

/** A cluster where most tenants join by label, some by name, some by selector; peers of every kind. */
export function generateCluster(nNamespaces: number, nTenants: number, nPods: number): CompileInput {
  const namespaces: Namespace[] = [];
  for (let i = 0; i < nNamespaces; i++) {
    const t = i % nTenants;
    namespaces.push({ metadata: { name: `ns-${i}`, labels: { 'netfence.dev/tenant': `tenant-${t}`, team: `team-${t % 50}`, env: i % 3 === 0 ? 'prod' : 'dev' } } });
  }
  const tenants: TenantIsolation[] = [];
  for (let t = 0; t < nTenants; t++) {
    const spec: TenantIsolation['spec'] = {};
    if (t % 20 === 1) spec.namespaces = namespaces.filter((_, i) => i % nTenants === t).map((n) => n.metadata.name);
    else if (t % 20 === 2) spec.namespaceSelector = { matchLabels: { 'netfence.dev/tenant': `tenant-${t}` } };
    const from: Peer[] = [
      { tenant: `tenant-${(t + 1) % nTenants}`, ports: [{ port: 8080 }] },
      { namespaces: ['ingress-nginx'], ports: [{ port: 443 }] },
    ];
    if (t % 10 === 0) from.push({ namespaceSelector: { matchLabels: { team: `team-${t % 50}`, env: 'prod' } }, podSelector: { matchLabels: { app: 'api' } } });
    spec.ingress = { from };
    spec.egress = {
      to: [
        { tenant: `tenant-${(t + nTenants - 1) % nTenants}`, ports: [{ port: 8080 }] },
        { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'], ports: [{ port: 443 }] },
      ],
    };
    spec.exposures = [
      { name: 'web', from: [{ namespaces: ['ingress-nginx'] }], ports: [{ port: 8080 }] },
      { name: 'metrics', from: [{ namespaces: ['monitoring'], podSelector: { matchLabels: { app: 'prometheus' } } }], ports: [{ port: 'metrics' }] },
    ];
    tenants.push({
      apiVersion: 'netfence.dev/v1alpha1',
      kind: 'TenantIsolation',
      metadata: { name: `tenant-${t}`, uid: `00000000-0000-0000-0000-${String(t).padStart(12, '0')}` },
      spec,
    });
  }
  const pods: PodLabels[] = [];
  for (let p = 0; p < nPods; p++) {
    const labels: Record<string, string> = { app: p % 4 === 0 ? 'api' : 'worker', 'pod-template-hash': `h${p % 97}` };
    if (p % 5 === 0) labels['netfence.dev/expose-web'] = 'true';
    pods.push({ namespace: `ns-${p % nNamespaces}`, name: `pod-${p}`, labels });
  }
  return { tenants, namespaces, pods, settings: defaultSettings() };
}
