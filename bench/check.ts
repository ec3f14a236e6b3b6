/**
 * bench/check: `netfence check` on 1,000 namespaces of 100 tenants with 10,000 pods, against
 * the naive way of visiting every pod pair with the point evaluator.
 *
 * The cluster is bench/cluster.ts's, plus an ingress controller, Prometheus and DNS pods, pod
 * addresses and named ports, and hand-written policies: a pod-to-pod allow in 5% of the
 * namespaces and an allow-everything ingress in 1% (the violations to find).
 *
 * Prints: the time to build the analysis and to list the violations (median of runs), the
 * number of endpoint classes, the violations found, the heap held; and the naive cost,
 * measured on a random sample of pod pairs at one port and extrapolated to every pair, for
 * one port only (the analysis covers every port). Goal: seconds, not by visiting every pair.
 * Run: `npm run bench:check` (BENCH_NAMESPACES, BENCH_TENANTS, BENCH_PODS, BENCH_RUNS,
 * BENCH_HANDWRITTEN_EVERY=1 to give every namespace its own policy, the worst case for grouping).
 */
import { performance } from 'node:perf_hooks';
import type { Namespace, NetworkPolicy, Pod } from '../src/api/k8s.js';
import { findViolations } from '../src/analysis/check.js';
import { buildScene } from '../src/analysis/scene.js';
import { buildEvaluator, type Endpoint } from '../src/evaluator/index.js';
import { generateCluster } from './cluster.js';

const NAMESPACES = Number(process.env.BENCH_NAMESPACES ?? 1_000);
const TENANTS = Number(process.env.BENCH_TENANTS ?? 100);
const PODS = Number(process.env.BENCH_PODS ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const NAIVE_SAMPLE = 50_000;
/** One namespace in this many gets the pod-to-pod policy; 1 makes every namespace different. */
const HANDWRITTEN_EVERY = Number(process.env.BENCH_HANDWRITTEN_EVERY ?? 20);

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g === undefined) throw new Error('run with node --expose-gc (npm run bench:check does)');
  g();
  g();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

const generated = generateCluster(NAMESPACES, TENANTS, PODS);
const namespaces: Namespace[] = [
  ...(generated.namespaces as Namespace[]),
  { metadata: { name: 'ingress-nginx' } },
  { metadata: { name: 'monitoring' } },
  { metadata: { name: 'kube-system' } },
];
const ip = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const pods: Pod[] = (generated.pods ?? []).map((p, i) => ({
  metadata: { namespace: p.namespace, name: p.name, labels: { ...p.labels } },
  spec: {
    containers: [
      {
        ports: [
          { name: 'http', containerPort: 8080 },
          { name: 'metrics', containerPort: 9090 },
        ],
      },
    ],
  },
  status: { podIP: ip(i + 1) },
}));
pods.push(
  { metadata: { namespace: 'ingress-nginx', name: 'controller', labels: { app: 'ingress-nginx' } }, status: { podIP: '10.250.0.1' } },
  { metadata: { namespace: 'monitoring', name: 'prometheus-0', labels: { app: 'prometheus' } }, status: { podIP: '10.250.0.2' } },
  { metadata: { namespace: 'kube-system', name: 'coredns', labels: { 'k8s-app': 'kube-dns' } }, status: { podIP: '10.250.0.3' } },
);
const policies: NetworkPolicy[] = [];
for (let i = 0; i < NAMESPACES; i++) {
  const namespace = `ns-${i}`;
  if (i % HANDWRITTEN_EVERY === 7 % HANDWRITTEN_EVERY) {
    policies.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { namespace, name: 'api-from-workers' },
      spec: { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'worker' } } }], ports: [{ port: 'http' }] }] },
    });
  }
  if (i % 100 === 42) {
    policies.push({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace, name: 'allow-everything' }, spec: { podSelector: {}, ingress: [{}] } });
  }
}
const input = { tenants: generated.tenants, namespaces, pods, policies, settings: generated.settings };

console.log(`bench/check: ${NAMESPACES} namespaces, ${TENANTS} tenants, ${pods.length} pods, ${policies.length} hand-written policies; ${RUNS} runs`);
const sceneMs: number[] = [];
const checkMs: number[] = [];
let classes = 0;
let violations = 0;
let failing = 0;
let heapMb = 0;
// Keeps the scene reachable until the heap is measured: written, never read.
let _held: unknown;
for (let r = 0; r < RUNS; r++) {
  gc();
  const before = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const scene = buildScene(input, 'planned');
  const t1 = performance.now();
  const found = findViolations(scene.reach, scene.fences);
  const t2 = performance.now();
  _held = scene;
  sceneMs.push(t1 - t0);
  checkMs.push(t2 - t1);
  classes = scene.reach.classes.length;
  violations = found.length;
  failing = found.filter((v) => v.enforced).length;
  gc();
  heapMb = (process.memoryUsage().heapUsed - before) / 1024 / 1024;
  _held = undefined;
}
const analysis = median(sceneMs) + median(checkMs);
console.log(
  `analysis: build ${median(sceneMs).toFixed(0)} ms + violations ${median(checkMs).toFixed(0)} ms = ${analysis.toFixed(0)} ms (median); ${classes} endpoint classes for ${pods.length} pods; ${violations} violating paths (${failing} failing); heap held ${heapMb.toFixed(1)} MB`,
);

// The naive way: the point evaluator on every pod pair. Measured on a sample, extrapolated.
const scene = buildScene(input, 'planned');
const evaluator = buildEvaluator({ namespaces, pods, policies: scene.policies as NetworkPolicy[] });
const endpoints: Endpoint[] = pods.map((p) => ({ kind: 'pod', namespace: p.metadata.namespace, name: p.metadata.name }));
let seed = 42;
const rand = (n: number): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};
const t0 = performance.now();
let allowed = 0;
for (let i = 0; i < NAIVE_SAMPLE; i++) {
  if (evaluator.evaluate(endpoints[rand(endpoints.length)] as Endpoint, endpoints[rand(endpoints.length)] as Endpoint, 8080, 'TCP').allowed) allowed++;
}
const perPairUs = ((performance.now() - t0) * 1000) / NAIVE_SAMPLE;
const naiveMs = (perPairUs * pods.length * pods.length) / 1000;
console.log(
  `naive: ${perPairUs.toFixed(2)} us per pod pair and port (${NAIVE_SAMPLE} sampled, ${allowed} allowed); every pair at one port would take ${(naiveMs / 1000).toFixed(0)} s, ${(naiveMs / analysis).toFixed(0)}x the analysis, which covers every port`,
);
