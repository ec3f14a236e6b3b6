/**
 * bench/kyverno: netfence side by side with Kyverno's `generate` rule, each on a fresh real
 * kube-apiserver (test/control-plane), one after the other, with the same inputs: one tenant
 * `t0` of namespaces labelled netfence.dev/tenant=t0.
 *
 * For each system:
 * - existing: BENCH_NAMESPACES namespaces exist, labelled, before the system starts; once it
 *   is ready, the rule is declared (netfence: the TenantIsolation `t0`, membership by label;
 *   Kyverno: a ClusterPolicy that generates, synchronize and generateExisting on, a
 *   default-deny NetworkPolicy into every Namespace carrying the label). Timed from that
 *   write until a watch has seen every namespace's deny; also printed from the process start.
 * - single new: one namespace created with the label into that tenant, timed until its deny
 *   appears; BENCH_SINGLES times, one after another.
 * - bulk new: BENCH_BULK labelled namespaces created one by one (each create awaited, none
 *   waits for a deny), timed from the first create until every one has its deny.
 * - memory: VmHWM (peak) and VmRSS at the end, from /proc, of `netfence run` and of each
 *   Kyverno controller.
 *
 * Kyverno v1.19.1 (bench/kyverno-build.ts) runs as two local processes, as its Helm chart
 * starts them (the chart's arguments, config map defaults and env), out of cluster: a
 * kubeconfig, `--serverIP` so its webhooks are registered by URL on 127.0.0.1, and one
 * ServiceAccount identity bound to cluster-admin for both (the control plane mints one
 * identity besides the admin). No reports controller and no cleanup controller run.
 * netfence runs as `bin/netfence.js run` with the operator identity and config/rbac, with no
 * NODE_OPTIONS (no heap cap, like Kyverno's processes) unless BENCH_OPERATOR_NODE_OPTIONS sets them.
 *
 * Prints figures, asserts none; exit 1 on any error. Run: `npm run bench:kyverno` (knobs:
 * BENCH_NAMESPACES, BENCH_SINGLES, BENCH_BULK, BENCH_CONCURRENCY, BENCH_OPERATOR_NODE_OPTIONS,
 * BENCH_ONLY=netfence|kyverno, BENCH_KEEP_LOGS=1).
 * Leaves out: the other policies netfence writes per namespace (allow-same-tenant, DNS) are
 * not waited for; Kyverno generates the deny alone.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { API_VERSION, KIND, POLICY_NAMES, TENANT_LABEL } from '../src/api/constants.js';
import { RESOURCES, resourcePath, type KubeClient } from '../src/kube/client.js';
import { isUnavailable, provideBinaries, type Binaries } from '../test/control-plane/binaries.js';
import { freePorts, startControlPlane, type ControlPlane } from '../test/control-plane/control-plane.js';
import {
  clientOf,
  createNamespaces,
  install,
  keyOf,
  mb,
  ms,
  progress,
  rssMb,
  startOperatorChild,
  supervise,
  tail,
  until,
  watchNetworkPolicies,
  type OperatorChild,
  type Supervised,
} from './apiserver-support.js';
import { KYVERNO_VERSION, provideKyverno, type KyvernoBuild } from './kyverno-build.js';

const NAMESPACES = Number(process.env.BENCH_NAMESPACES ?? 1_000);
const SINGLES = Number(process.env.BENCH_SINGLES ?? 5);
const BULK = Number(process.env.BENCH_BULK ?? 1_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const OPERATOR_NODE_OPTIONS = process.env.BENCH_OPERATOR_NODE_OPTIONS ?? '';
const ONLY = process.env.BENCH_ONLY ?? '';
/** Keep the processes' logs (their folder is printed) instead of removing them after a clean run. */
const KEEP_LOGS = process.env.BENCH_KEEP_LOGS === '1';
const TENANT = 't0';
const LABELS = { [TENANT_LABEL]: TENANT };
const WAIT_MS = 20 * 60_000;
const SETUP_WORKERS = 16;

const KYVERNO_NAMESPACE = 'kyverno';
const KYVERNO_IDENTITY = { namespace: KYVERNO_NAMESPACE, name: 'kyverno' };
const KYVERNO_USER = `system:serviceaccount:${KYVERNO_IDENTITY.namespace}:${KYVERNO_IDENTITY.name}`;
const KYVERNO_DENY = 'default-deny';
const KYVERNO_POLICY = 'netfence-bench-default-deny';

// --- what both systems get --------------------------------------------------------------

interface Figures {
  system: string;
  readyMs: number;
  existingMs: number;
  existingFromStartMs: number;
  singlesMs: number[];
  bulkInputMs: number;
  bulkMs: number;
  memory: { process: string; peakMb: number; endMb: number }[];
  /** The machine's 1-minute load average when the timings began and ended (others share its CPUs). */
  load: [number, number];
  notes: string[];
}

const existingNames = Array.from({ length: NAMESPACES }, (_, i) => `existing-${i}`);
const singleNames = Array.from({ length: SINGLES }, (_, i) => `single-${i}`);
const bulkNames = Array.from({ length: BULK }, (_, i) => `bulk-${i}`);

/** A system under test once it runs: how to declare its rule, its deny's name, its processes. */
interface Running {
  denyName: string;
  startedAt: number;
  readyAt: number;
  declare(): Promise<void>;
  pids: { process: string; pid: number }[];
  exited: Promise<string>;
}

/** The three timings on a cluster whose existing namespaces are in place and whose system is ready. */
async function measure(system: string, admin: KubeClient, running: Running): Promise<Omit<Figures, 'notes'>> {
  const watch = await watchPolicies(admin, `metadata.name=${running.denyName}`);
  const failed = running.exited.then((why) => Promise.reject(new Error(why)));
  failed.catch(() => undefined);
  const denyOf = (name: string): string => keyOf(name, running.denyName);
  const wait = (names: readonly string[]): Promise<number> => Promise.race([watch.all(names.map(denyOf), WAIT_MS), failed]);
  try {
    const loadBefore = loadavg()[0] ?? 0;
    const t0 = performance.now();
    await running.declare();
    const existingAt = await wait(existingNames);
    progress(`${system}: existing ${NAMESPACES} fenced ${ms(existingAt - t0)} after the rule`);

    const singlesMs: number[] = [];
    for (const name of singleNames) {
      const t = performance.now();
      await createNamespaces(admin, [name], 1, () => LABELS);
      singlesMs.push((await wait([name])) - t);
    }
    progress(`${system}: singles ${singlesMs.map(ms).join(', ')}`);

    const b0 = performance.now();
    await createNamespaces(admin, bulkNames, 1, () => LABELS);
    const bulkInputMs = performance.now() - b0;
    const bulkAt = await wait(bulkNames);
    progress(`${system}: bulk ${BULK} fenced ${ms(bulkAt - b0)} after the first create`);

    return {
      system,
      readyMs: running.readyAt - running.startedAt,
      existingMs: existingAt - t0,
      existingFromStartMs: existingAt - running.startedAt,
      singlesMs,
      bulkInputMs,
      bulkMs: bulkAt - b0,
      memory: running.pids.map(({ process, pid }) => ({ process, peakMb: rssMb(pid, 'VmHWM'), endMb: rssMb(pid, 'VmRSS') })),
      load: [loadBefore, loadavg()[0] ?? 0],
    };
  } finally {
    watch.stop();
  }
}

// --- netfence ----------------------------------------------------------------------------

async function runNetfence(binaries: Binaries): Promise<Figures> {
  const plane = await startControlPlane({ binaries, log: progress });
  const logDir = mkdtempSync(join(tmpdir(), 'netfence-bench-kyverno-'));
  const logFile = join(logDir, 'operator.log');
  let operator: OperatorChild | undefined;
  try {
    const { admin } = await install(plane);
    await createNamespaces(admin, existingNames, SETUP_WORKERS, () => LABELS);
    const startedAt = performance.now();
    operator = await startOperatorChild(plane, { logFile, concurrency: CONCURRENCY, resyncPeriod: '10m', nodeOptions: OPERATOR_NODE_OPTIONS });
    const child = operator;
    await until('the operator answers /readyz 200', 120_000, async () => (await fetch(`http://127.0.0.1:${child.healthPort}/readyz`)).status === 200);
    const readyAt = performance.now();
    progress(`netfence ready after ${ms(readyAt - startedAt)} (pid ${child.pid}, log ${logFile})`);
    const figures = await measure('netfence', admin, {
      denyName: POLICY_NAMES.defaultDeny,
      startedAt,
      readyAt,
      declare: () => create(admin, resourcePath(RESOURCES.tenantIsolations), { apiVersion: API_VERSION, kind: KIND, metadata: { name: TENANT }, spec: {} }),
      pids: [{ process: 'netfence run', pid: child.pid }],
      exited: child.exited.then((code) => `the operator exited (code ${code})`),
    });
    const problems = child.problems();
    const code = await child.stop();
    operator = undefined;
    if (!KEEP_LOGS) rmSync(logDir, { recursive: true, force: true });
    return {
      ...figures,
      notes: [
        `netfence: ${CONCURRENCY} workers${OPERATOR_NODE_OPTIONS ? `, NODE_OPTIONS=${OPERATOR_NODE_OPTIONS}` : ''}; exit code ${code} after SIGTERM; ${problems.length} warn/error log lines${problems[0] ? `, first: ${problems[0]}` : ''}${KEEP_LOGS ? `; log ${logFile}` : ''}`,
      ],
    };
  } catch (error) {
    if (operator) process.stderr.write(`[bench] last lines of ${logFile}:\n${tail(logFile)}\n`);
    throw error;
  } finally {
    await operator?.stop();
    await plane.stop();
  }
}

// --- Kyverno -----------------------------------------------------------------------------

/** The generate rule: for every Namespace labelled netfence.dev/tenant, a deny-all NetworkPolicy in it, kept in sync, existing ones included. */
const kyvernoPolicy = {
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: KYVERNO_POLICY },
  spec: {
    rules: [
      {
        name: 'default-deny',
        match: { any: [{ resources: { kinds: ['Namespace'], selector: { matchExpressions: [{ key: TENANT_LABEL, operator: 'Exists' }] } } }] },
        generate: {
          generateExisting: true,
          synchronize: true,
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          name: KYVERNO_DENY,
          namespace: '{{request.object.metadata.name}}',
          data: { spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } },
        },
      },
    ],
  },
};

/** The Helm chart's default `kyverno` ConfigMap, less the entries about objects this bench never makes. */
const kyvernoConfig = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'kyverno', namespace: KYVERNO_NAMESPACE },
  data: {
    enableDefaultRegistryMutation: 'true',
    defaultRegistry: 'docker.io',
    excludeGroups: 'system:nodes',
    generateSuccessEvents: 'false',
    resourceFilters: [
      '[Event,*,*]',
      '[*/*,kube-system,*]',
      '[*/*,kube-public,*]',
      '[*/*,kube-node-lease,*]',
      '[Node,*,*]',
      '[Node/?*,*,*]',
      '[APIService,*,*]',
      '[APIService/?*,*,*]',
      '[TokenReview,*,*]',
      '[SubjectAccessReview,*,*]',
      '[SelfSubjectAccessReview,*,*]',
      '[Binding,*,*]',
      '[Pod/binding,*,*]',
      '[ReplicaSet,*,*]',
      '[ReplicaSet/?*,*,*]',
      '[EphemeralReport,*,*]',
      '[ClusterEphemeralReport,*,*]',
      `[ConfigMap,${KYVERNO_NAMESPACE},kyverno]`,
    ].join(''),
    webhooks: JSON.stringify({ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [KYVERNO_NAMESPACE] }] } }),
  },
};

async function installKyverno(plane: ControlPlane, binaries: Binaries, kyverno: KyvernoBuild): Promise<KubeClient> {
  const admin = clientOf(plane.adminKubeconfig);
  const kubectl = (args: string[]): void => {
    const result = spawnSync(binaries.kubectl, ['--kubeconfig', plane.adminKubeconfig, ...args], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr.trim()}`);
  };
  kubectl(['apply', '--server-side', '--field-manager', 'netfence-bench', '-R', '-f', kyverno.crds]);
  await until('every Kyverno CRD is established', 60_000, async () => {
    const crds = await admin.request<{ items: { status?: { conditions?: { type: string; status: string }[] } }[] }>({
      method: 'GET',
      path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
    });
    return crds.items.every((crd) => crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'));
  });
  await create(admin, resourcePath(RESOURCES.namespaces), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: KYVERNO_NAMESPACE } });
  await create(admin, `/api/v1/namespaces/${KYVERNO_NAMESPACE}/configmaps`, kyvernoConfig);
  await create(admin, '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'kyverno-bench' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ kind: 'ServiceAccount', namespace: KYVERNO_IDENTITY.namespace, name: KYVERNO_IDENTITY.name }],
  });
  return admin;
}

/** Lines Kyverno's logger (text format, no colour) wrote at error level; a few at startup are usual (a Lease or Secret it has yet to create). */
function errorLines(logFile: string): number {
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((line) => /^\S+ ERR /.test(line)).length;
}

async function policyReady(admin: KubeClient): Promise<string | undefined> {
  const policy = await admin.request<{ status?: { conditions?: { type: string; status: string }[] } }>({
    method: 'GET',
    path: `/apis/kyverno.io/v1/clusterpolicies/${KYVERNO_POLICY}`,
  });
  return policy.status?.conditions?.find((c) => c.type === 'Ready')?.status;
}

interface KyvernoProcess extends Supervised {
  process: string;
  logFile: string;
}

function startKyvernoProcess(binary: string, name: string, args: string[], kubeconfig: string, logFile: string): KyvernoProcess {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    KYVERNO_NAMESPACE,
    KYVERNO_POD_NAME: `${name}-bench`,
    KYVERNO_SERVICEACCOUNT_NAME: KYVERNO_IDENTITY.name,
    KYVERNO_ROLE_NAME: 'kyverno',
    KYVERNO_SVC: 'kyverno-svc',
    KYVERNO_DEPLOYMENT: name,
    INIT_CONFIG: 'kyverno',
    METRICS_CONFIG: 'kyverno-metrics',
  };
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(binary, [`--kubeconfig=${kubeconfig}`, '--resyncPeriod=15m', '--disableLogColor', ...args], { env, stdio: ['ignore', fd, fd] });
    return { process: name, logFile, ...supervise(child, name) };
  } finally {
    closeSync(fd);
  }
}

async function runKyverno(binaries: Binaries, kyverno: KyvernoBuild): Promise<Figures> {
  const plane = await startControlPlane({ binaries, operator: KYVERNO_IDENTITY, log: progress });
  const logDir = mkdtempSync(join(tmpdir(), 'netfence-bench-kyverno-'));
  const processes: KyvernoProcess[] = [];
  try {
    const admin = await installKyverno(plane, binaries, kyverno);
    await createNamespaces(admin, existingNames, SETUP_WORKERS, () => LABELS);
    const [webhookPort, ...metricsPorts] = await freePorts(5);
    const metrics = (i: number): string[] => [
      `--metricsHost=127.0.0.1`,
      `--metricsPort=${metricsPorts[2 * i]}`,
      `--controllerRuntimeMetricsAddress=127.0.0.1:${metricsPorts[2 * i + 1]}`,
    ];
    const startedAt = performance.now();
    processes.push(
      startKyvernoProcess(
        kyverno.admissionController,
        'kyverno-admission-controller',
        [
          `--serverIP=127.0.0.1:${webhookPort}`,
          '--webhookServerHost=127.0.0.1',
          `--webhookServerPort=${webhookPort}`,
          `--caSecretName=kyverno-svc.${KYVERNO_NAMESPACE}.svc.kyverno-tls-ca`,
          `--tlsSecretName=kyverno-svc.${KYVERNO_NAMESPACE}.svc.kyverno-tls-pair`,
          `--backgroundServiceAccountName=${KYVERNO_USER}`,
          ...metrics(0),
        ],
        plane.operatorKubeconfig,
        join(logDir, 'admission.log'),
      ),
      startKyvernoProcess(kyverno.backgroundController, 'kyverno-background-controller', metrics(1), plane.operatorKubeconfig, join(logDir, 'background.log')),
    );
    // Ready: its webhook server answers /health/readiness and the policy webhooks are registered,
    // so a ClusterPolicy is validated and defaulted as in a cluster.
    await until(
      'Kyverno serves its webhooks and registers its policy webhooks',
      180_000,
      async () => {
        if ((await statusOf(`https://127.0.0.1:${webhookPort}/health/readiness`)) !== 200) return false;
        const hooks = await admin.request<{ items: { metadata: { name: string } }[] }>({
          method: 'GET',
          path: '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations',
        });
        return hooks.items.some((hook) => hook.metadata.name === 'kyverno-policy-validating-webhook-cfg');
      },
      500,
    );
    const readyAt = performance.now();
    progress(`Kyverno ready after ${ms(readyAt - startedAt)} (pids ${processes.map((p) => p.pid).join(', ')}, logs in ${logDir})`);
    const figures = await measure('Kyverno', admin, {
      denyName: KYVERNO_DENY,
      startedAt,
      readyAt,
      // The policy's resource webhooks must be in place before new namespaces can trigger it.
      declare: async () => {
        await create(admin, '/apis/kyverno.io/v1/clusterpolicies', kyvernoPolicy);
        await until('the ClusterPolicy is Ready', 120_000, async () => (await policyReady(admin)) === 'True', 250);
      },
      pids: processes.map(({ process, pid }) => ({ process, pid })),
      exited: Promise.race(processes.map((p) => p.exited.then((code) => `${p.process} exited (code ${code}); log ${p.logFile}`))),
    });
    const codes = [];
    for (const p of processes) codes.push(`${p.process} ${await p.stop()} (${errorLines(p.logFile)} error log lines)`);
    processes.length = 0;
    if (!KEEP_LOGS) rmSync(logDir, { recursive: true, force: true });
    return {
      ...figures,
      notes: [`Kyverno ${KYVERNO_VERSION} (${kyverno.origin}): exit codes after SIGTERM: ${codes.join(', ')}${KEEP_LOGS ? `; logs in ${logDir}` : ''}`],
    };
  } catch (error) {
    for (const p of processes) process.stderr.write(`[bench] last lines of ${p.logFile}:\n${tail(p.logFile, 20)}\n`);
    throw error;
  } finally {
    for (const p of processes) await p.stop();
    await plane.stop();
  }
}

// --- plumbing ------------------------------------------------------------------------------

/** POST as the admin (the bench makes every object once, on a fresh control plane). */
async function create(admin: KubeClient, path: string, body: object): Promise<void> {
  await admin.request({ method: 'POST', path, body });
}

interface PolicyWatch {
  /** Resolves with the time (performance.now()) the last of `keys` first appeared; rejects when the watch breaks or `timeoutMs` passes. */
  all(keys: readonly string[], timeoutMs: number): Promise<number>;
  stop(): void;
}

/**
 * NetworkPolicies in every namespace matching `fieldSelector`, listed then watched: each
 * `namespace/name` keeps the time it first appeared (the list's time for those it held).
 * Both systems' denies are found by name, as they carry different labels.
 */
async function watchPolicies(client: KubeClient, fieldSelector: string): Promise<PolicyWatch> {
  const seen = new Map<string, number>();
  const arrivals = new Set<() => void>();
  const watch = await watchNetworkPolicies(client, { fieldSelector }, (event) => {
    const key = keyOf(event.namespace, event.name);
    if (event.type === 'DELETED' || seen.has(key)) return;
    seen.set(key, event.at);
    for (const arrived of arrivals) arrived();
  });
  const listedAt = performance.now();
  for (const key of watch.listed) if (!seen.has(key)) seen.set(key, listedAt);
  return {
    all: (keys, timeoutMs) => {
      let check: (() => void) | undefined;
      const complete = new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${keys.filter((k) => !seen.has(k)).length} of ${keys.length} denies missing after ${ms(timeoutMs)}`)), timeoutMs);
        timer.unref();
        let missing = keys.filter((key) => !seen.has(key));
        check = () => {
          missing = missing.filter((key) => !seen.has(key));
          if (missing.length > 0) return;
          clearTimeout(timer);
          resolve(Math.max(...keys.map((key) => seen.get(key) ?? 0)));
        };
        arrivals.add(check);
        check();
      });
      return Promise.race([complete, watch.failed]).finally(() => check && arrivals.delete(check));
    },
    stop: () => watch.stop(),
  };
}

/** The HTTP status of a GET to Kyverno's webhook server, whose certificate is its own self-signed one. */
function statusOf(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpsGet(url, { rejectUnauthorized: false, timeout: 2_000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out`)));
    request.on('error', reject);
  });
}

// --- report ------------------------------------------------------------------------------

function summary(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  return `min ${ms(sorted[0] ?? 0)}, median ${ms(median)}, max ${ms(sorted.at(-1) ?? 0)}`;
}

function report(results: readonly Figures[]): string {
  const lines = [
    `bench/kyverno: one tenant by label (${TENANT_LABEL}=${TENANT}); ${NAMESPACES} existing, ${SINGLES} single new, ${BULK} bulk new namespaces; each system on its own kube-apiserver on loopback; ${availableParallelism()} CPUs shared`,
    '',
  ];
  for (const r of results) {
    lines.push(
      `${r.system}:`,
      `  existing:   ${NAMESPACES} denies ${ms(r.existingMs)} after the rule was declared (${ms(r.existingFromStartMs)} after the process start; ready ${ms(r.readyMs)} after start)`,
      `  single new: into a tenant of ${NAMESPACES}+: ${summary(r.singlesMs)} (${r.singlesMs.map(ms).join(', ')})`,
      `  bulk new:   ${BULK} denies ${ms(r.bulkMs)} after the first create (creating them one by one took ${ms(r.bulkInputMs)})`,
      ...r.memory.map((m) => `  memory:     ${m.process}: peak (VmHWM) ${mb(m.peakMb)}, at the end (VmRSS) ${mb(m.endMb)}`),
      `  load:       1-minute load average ${r.load[0].toFixed(1)} when the timings began, ${r.load[1].toFixed(1)} when they ended`,
      ...r.notes.map((note) => `  (${note})`),
      '',
    );
  }
  const [a, b] = results;
  if (a && b) {
    const ratio = (x: number, y: number): string => `${(x / y).toFixed(2)}x`;
    const median = (v: readonly number[]): number => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)] ?? 0;
    lines.push(
      `ratios ${a.system}/${b.system}: existing ${ratio(a.existingMs, b.existingMs)}, single new (median) ${ratio(median(a.singlesMs), median(b.singlesMs))}, bulk ${ratio(a.bulkMs, b.bulkMs)}, ` +
        `peak memory ${ratio(
          a.memory.reduce((s, m) => s + m.peakMb, 0),
          b.memory.reduce((s, m) => s + m.peakMb, 0),
        )} (sum over processes)`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const binaries = await provideBinaries({ log: progress });
  if (isUnavailable(binaries)) throw new Error(`no control plane: ${binaries.unavailable}`);
  const results: Figures[] = [];
  if (ONLY !== 'kyverno') {
    progress('phase 1: netfence');
    results.push(await runNetfence(binaries));
  }
  if (ONLY !== 'netfence') {
    const kyverno = await provideKyverno(process.env, progress);
    progress(`phase 2: Kyverno ${KYVERNO_VERSION} (${kyverno.origin})`);
    results.push(await runKyverno(binaries, kyverno));
  }
  console.log(report(results));
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/kyverno failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
