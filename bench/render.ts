/**
 * bench/render: the compile step on a generated cluster of 10,000 namespaces, 1,000 tenants
 * and 100,000 pods. Prints the median compile time over several runs and the heap the
 * result holds. Goal: under 1 s and under 300 MB. Run: `npm run bench:render`.
 */
import { performance } from 'node:perf_hooks';
import type { Namespace } from '../src/api/k8s.js';
import type { Peer, TenantIsolation } from '../src/api/types.js';
import { compile, type CompileInput, type PodLabels } from '../src/compiler/compile.js';
import { defaultSettings } from '../src/compiler/settings.js';

const NAMESPACES = Number(process.env.BENCH_NAMESPACES ?? 10_000);
const TENANTS = Number(process.env.BENCH_TENANTS ?? 1_000);
const PODS = Number(process.env.BENCH_PODS ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g === undefined) throw new Error('run with node --expose-gc (npm run bench:render does)');
  g();
  g();
}

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
    const from: Peer[] = [{ tenant: `tenant-${(t + 1) % nTenants}`, ports: [{ port: 8080 }] }, { namespaces: ['ingress-nginx'], ports: [{ port: 443 }] }];
    if (t % 10 === 0) from.push({ namespaceSelector: { matchLabels: { team: `team-${t % 50}`, env: 'prod' } }, podSelector: { matchLabels: { app: 'api' } } });
    spec.ingress = { from };
    spec.egress = { to: [{ tenant: `tenant-${(t + nTenants - 1) % nTenants}`, ports: [{ port: 8080 }] }, { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'], ports: [{ port: 443 }] }] };
    spec.exposures = [
      { name: 'web', from: [{ namespaces: ['ingress-nginx'] }], ports: [{ port: 8080 }] },
      { name: 'metrics', from: [{ namespaces: ['monitoring'], podSelector: { matchLabels: { app: 'prometheus' } } }], ports: [{ port: 'metrics' }] },
    ];
    tenants.push({ apiVersion: 'netfence.dev/v1alpha1', kind: 'TenantIsolation', metadata: { name: `tenant-${t}`, uid: `00000000-0000-0000-0000-${String(t).padStart(12, '0')}` }, spec });
  }
  const pods: PodLabels[] = [];
  for (let p = 0; p < nPods; p++) {
    const labels: Record<string, string> = { app: p % 4 === 0 ? 'api' : 'worker', 'pod-template-hash': `h${p % 97}` };
    if (p % 5 === 0) labels['netfence.dev/expose-web'] = 'true';
    pods.push({ namespace: `ns-${p % nNamespaces}`, name: `pod-${p}`, labels });
  }
  return { tenants, namespaces, pods, settings: defaultSettings() };
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

const input = generateCluster(NAMESPACES, TENANTS, PODS);
compile(input); // warm-up: JIT and inline caches
gc();
const heapBefore = process.memoryUsage().heapUsed;
const times: number[] = [];
let result = compile(input);
for (let i = 0; i < RUNS; i++) {
  gc();
  const t0 = performance.now();
  result = compile(input);
  times.push(performance.now() - t0);
}
gc();
const heapHeld = process.memoryUsage().heapUsed - heapBefore;
// Peak during one compile: heap right after a compile, before any collection.
gc();
const base = process.memoryUsage().heapUsed;
const probe = compile(input);
const peak = process.memoryUsage().heapUsed - base;
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)] as number;
console.log(`bench/render: ${NAMESPACES} namespaces, ${TENANTS} tenants, ${PODS} pods -> ${result.policies.length} policies (${probe.policies.length === result.policies.length ? 'stable' : 'UNSTABLE'})`);
console.log(`compile time: median ${median.toFixed(0)} ms, min ${(times[0] as number).toFixed(0)} ms, max ${(times[times.length - 1] as number).toFixed(0)} ms over ${RUNS} runs (goal < 1000 ms)`);
console.log(`heap: result held ${mb(heapHeld)}, allocated by one compile before collection ${mb(peak)} (goal < 300 MB); rss ${mb(process.memoryUsage().rss)}`);
