/**
 * bench/cli: `netfence render` and `netfence check` on manifests as a GitOps pipeline gives
 * them, against the floor no implementation can skip, measured in the same run.
 *
 * Inputs (written to a temporary folder): bench/cluster.ts's cluster at 1,000 namespaces (100
 * tenants, 10,000 pods) and at 10,000 namespaces (1,000 tenants, 100,000 pods), each as one
 * `kind: List` in JSON (4-space indent, as kubectl writes), the same JSON on one line (as
 * JSON.stringify and `jq -c` write it) and as a YAML stream; and a
 * `kubectl get ns,pods,networkpolicies,tenantisolations -A -o json` dump of 10,000 real-looking
 * pods (full specs, env, volumes, managedFields, last-applied annotations).
 *
 * Floor: read the JSON file, JSON.parse it, compile, JSON.stringify the policies (render) or
 * build the analysis and list violations (check), in one process without validation or YAML.
 * Each command runs in a fresh process (bench/cli-child.ts, which calls the CLI's own entry
 * point with stdout discarded) that reports its time and peak RSS (getrusage).
 * Goals (issue 12): at 10,000 namespaces within 3x the floor and under 600 MB RSS for YAML and
 * JSON alike; the dump checked under 1.5 GB RSS. Prints a line per run and MET or MISSED.
 * Run: `npm run bench:cli` (BENCH_SIZES=1000,10000 to choose sizes, BENCH_DUMP_PODS=0 to skip the dump).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toYamlStream } from '../src/io/yaml-emit.js';
import { generateCluster } from './cluster.js';

const SIZES = (process.env.BENCH_SIZES ?? '1000,10000').split(',').map(Number);
const DUMP_PODS = Number(process.env.BENCH_DUMP_PODS ?? 10_000);
const CHILD = fileURLToPath(new URL('./cli-child.js', import.meta.url));

interface Measured {
  ms: number;
  rssMB: number;
  code: number;
}

function run(args: string[]): Measured {
  const r = spawnSync(process.execPath, ['--expose-gc', CHILD, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const line = r.stderr.trim().split('\n').pop() ?? '';
  if (!line.startsWith('{')) throw new Error(`bench child failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(line) as Measured;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function clusterObjects(nNamespaces: number): unknown[] {
  const c = generateCluster(nNamespaces, nNamespaces / 10, nNamespaces * 10);
  return [
    ...c.namespaces.map((n) => ({ apiVersion: 'v1', kind: 'Namespace', ...n })),
    ...['ingress-nginx', 'monitoring', 'kube-system'].map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })),
    ...c.tenants,
    ...(c.pods ?? []).map((p) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: p.name, namespace: p.namespace, labels: p.labels },
      spec: { containers: [{ name: 'app', ports: [{ name: 'metrics', containerPort: 9090 }] }] },
    })),
  ];
}

/** A Pod as `kubectl get -o json` prints it, about 15 KB. */
function realPod(i: number, ns: string): unknown {
  const labels = { app: `app-${i % 40}`, 'pod-template-hash': `h${i % 97}`, 'app.kubernetes.io/part-of': 'shop' };
  const container = (name: string): unknown => ({
    name,
    image: `registry.example.com/team/${name}:1.${i % 30}.0`,
    ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
    env: Array.from({ length: 25 }, (_, k) => ({ name: `SETTING_${k}`, value: `value-${k}-${'x'.repeat(20)}` })),
    resources: { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '100m', memory: '128Mi' } },
    volumeMounts: [
      { name: 'config', mountPath: '/etc/config' },
      { name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
    ],
    livenessProbe: { httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' }, periodSeconds: 10, timeoutSeconds: 1 },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: 'IfNotPresent',
  });
  const spec = {
    containers: [container('app'), container('sidecar')],
    volumes: [{ name: 'config', configMap: { name: 'config', defaultMode: 420 } }],
    restartPolicy: 'Always',
    serviceAccountName: 'default',
    nodeName: `node-${i % 50}`,
  };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `pod-${i}`,
      namespace: ns,
      uid: `00000000-0000-0000-0001-${String(i).padStart(12, '0')}`,
      resourceVersion: String(100000 + i),
      labels,
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `pod-${i}`, namespace: ns, labels }, spec }),
      },
      managedFields: [
        {
          manager: 'kubectl',
          operation: 'Update',
          apiVersion: 'v1',
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': { 'f:labels': Object.fromEntries(Object.keys(labels).map((k) => [`f:${k}`, {}])) },
            'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:env': {}, 'f:image': {}, 'f:ports': {} } } },
          },
        },
      ],
    },
    spec,
    status: {
      phase: 'Running',
      podIP: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      podIPs: [{ ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }],
      hostIP: '192.0.2.10',
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
}

function dumpObjects(nPods: number): unknown[] {
  const nNamespaces = Math.max(10, nPods / 20);
  const base = generateCluster(nNamespaces, nNamespaces / 10, 0);
  return [
    ...base.namespaces.map((n) => ({ apiVersion: 'v1', kind: 'Namespace', ...n, status: { phase: 'Active' } })),
    ...Array.from({ length: nPods }, (_, i) => realPod(i, `ns-${i % nNamespaces}`)),
    ...base.tenants,
  ];
}

const dir = mkdtempSync(join(tmpdir(), 'netfence-bench-cli-'));
const goals: string[] = [];
try {
  for (const n of SIZES) {
    const objects = clusterObjects(n);
    const json = join(dir, `cluster-${n}.json`);
    const compact = join(dir, `cluster-${n}-compact.json`);
    const yaml = join(dir, `cluster-${n}.yaml`);
    writeFileSync(json, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 4));
    writeFileSync(compact, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
    writeFileSync(yaml, toYamlStream(objects));
    console.log(`bench/cli: ${n} namespaces, ${n / 10} tenants, ${n * 10} pods: ${mb(statSync(json).size)} of JSON, ${mb(statSync(yaml).size)} of YAML`);
    for (const command of ['render', 'check'] as const) {
      const floor = run(['--floor', command, json]);
      console.log(`  ${command} floor (read, JSON.parse, ${command === 'render' ? 'compile, JSON.stringify' : 'analysis, violations'}): ${floor.ms.toFixed(0)} ms`);
      // One-line JSON (JSON.stringify, jq -c) as well: its lines must not be recounted for every item.
      for (const [form, path] of [
        ['JSON', json],
        ['one-line JSON', compact],
        ['YAML', yaml],
      ] as const) {
        const m = run([command, '-f', path]);
        const ratio = m.ms / floor.ms;
        console.log(`  ${command} ${form}: ${m.ms.toFixed(0)} ms = ${ratio.toFixed(2)}x the floor, peak RSS ${m.rssMB.toFixed(0)} MB, exit ${m.code}`);
        if (n >= 10_000) goals.push(`${command} ${form} at ${n}: ${ratio <= 3 && m.rssMB < 600 ? 'MET' : 'MISSED'} (goal: within 3x of the floor and under 600 MB)`);
      }
    }
  }
  if (DUMP_PODS > 0) {
    const dump = join(dir, 'dump.json');
    writeFileSync(dump, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: dumpObjects(DUMP_PODS), metadata: { resourceVersion: '' } }, null, 4));
    console.log(`bench/cli: a kubectl get -o json dump of ${DUMP_PODS} pods with full specs: ${mb(statSync(dump).size)}`);
    const m = run(['check', '-f', dump]);
    console.log(`  check: ${m.ms.toFixed(0)} ms, peak RSS ${m.rssMB.toFixed(0)} MB, exit ${m.code}`);
    goals.push(`check of the ${DUMP_PODS}-pod dump: ${m.rssMB < 1536 ? 'MET' : 'MISSED'} (goal: under 1.5 GB RSS)`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
for (const g of goals) console.log(`goal ${g}`);
