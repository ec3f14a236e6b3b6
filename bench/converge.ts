/**
 * bench/converge: the operator on a real kube-apiserver (test/control-plane), against a floor.
 *
 * 1. Floor, on a control plane of its own: the same input writes a user makes (create the
 *    TenantIsolations, label the namespaces), then a plain loop that server-side-applies the
 *    policies the compiler precomputed, with the operator's identity and BENCH_CONCURRENCY
 *    workers. Nothing else runs there.
 * 2. Operator, on a second, fresh control plane: `netfence run` as a child process with
 *    --concurrency BENCH_CONCURRENCY; once it is ready, the same input writes, timed until a
 *    watch has seen every expected policy. Then BENCH_PODS pods, the operator's RSS, and the
 *    writes one resync of the unchanged cluster makes.
 *
 * Goals (issue): operator time at most 1.3x the floor; RSS under 150 MB with 1,000
 * namespaces and 20,000 pods; 0 writes on resync. Prints figures, asserts none; exits 1 on
 * any error. Run: `npm run bench:converge` (knobs: BENCH_NAMESPACES, BENCH_TENANTS,
 * BENCH_PODS, BENCH_CONCURRENCY, BENCH_RESYNC_PERIOD, BENCH_OPERATOR_NODE_OPTIONS, BENCH_KEEP_LOGS).
 * Leaves out: scheduling (pods never run), a controller-manager, network latency (loopback).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { API_VERSION, CRD_NAME, EXPOSE_LABEL_PREFIX, FIELD_MANAGER, KIND, MANAGED_BY_LABEL, MANAGED_BY_VALUE, TENANT_LABEL } from '../src/api/constants.js';
import type { Namespace, NetworkPolicy } from '../src/api/k8s.js';
import type { TenantIsolation } from '../src/api/types.js';
import { compile } from '../src/compiler/compile.js';
import { defaultSettings } from '../src/compiler/settings.js';
import { kubeClient, RESOURCES, resourcePath, type KubeClient } from '../src/kube/client.js';
import { isUnavailable, provideBinaries, type Binaries } from '../test/control-plane/binaries.js';
import { freePorts, startControlPlane, type ControlPlane } from '../test/control-plane/control-plane.js';

const NAMESPACES = Number(process.env.BENCH_NAMESPACES ?? 1_000);
const TENANTS = Number(process.env.BENCH_TENANTS ?? 100);
const PODS = Number(process.env.BENCH_PODS ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const RESYNC_PERIOD = process.env.BENCH_RESYNC_PERIOD ?? '20s';
/** NODE_OPTIONS for the operator child, e.g. `--max-old-space-size=128` to see whether it fits a smaller heap. */
const OPERATOR_NODE_OPTIONS = process.env.BENCH_OPERATOR_NODE_OPTIONS ?? '';
/** Keep the operator's log (its path is printed) instead of removing it after a clean run. */
const KEEP_LOGS = process.env.BENCH_KEEP_LOGS === '1';
const CONVERGE_TIMEOUT_MS = 15 * 60_000;
/** Workers creating pods (setup, not timed). */
const POD_WORKERS = 32;
const OPERATOR_NAMESPACE = 'netfence-system';
const BENCH_MANAGER = 'netfence-bench';
const APPLY = 'application/apply-patch+yaml';

const REPO = repoRoot();
const progress = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);

// --- the workload ----------------------------------------------------------------------

/** Names of one run's objects: `floor-` and `op-` keep the two phases' objects apart in logs. */
interface Names {
  prefix: string;
  namespaces: string[];
  /** A namespace outside every tenant that peers and exposures name (an ingress controller's). */
  ingress: string;
  tenantOf: (namespaceIndex: number) => string;
  tenants: string[];
}

function names(prefix: string): Names {
  const tenant = (t: number) => `${prefix}tenant-${t}`;
  return {
    prefix,
    namespaces: Array.from({ length: NAMESPACES }, (_, i) => `${prefix}ns-${i}`),
    ingress: `${prefix}ingress`,
    tenantOf: (i) => tenant(i % TENANTS),
    tenants: Array.from({ length: TENANTS }, (_, t) => tenant(t)),
  };
}

/** Label membership; ingress from the next tenant and the ingress namespace; egress to the previous tenant and the internet; one exposure. */
function tenantObject(n: Names, t: number, uid?: string): TenantIsolation {
  const next = n.tenants[(t + 1) % TENANTS] as string;
  const previous = n.tenants[(t + TENANTS - 1) % TENANTS] as string;
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: n.tenants[t] as string, ...(uid ? { uid } : {}) },
    spec: {
      ingress: { from: [{ tenant: next, ports: [{ port: 8080 }] }, { namespaces: [n.ingress], ports: [{ port: 443 }] }] },
      egress: { to: [{ tenant: previous, ports: [{ port: 8080 }] }, { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'], ports: [{ port: 443 }] }] },
      exposures: [{ name: 'web', from: [{ namespaces: [n.ingress] }], ports: [{ port: 8080 }] }],
    },
  };
}

/** The policies the compiler wants once every tenant exists and every namespace is labelled. */
function desiredPolicies(n: Names, uids: ReadonlyMap<string, string>): readonly NetworkPolicy[] {
  const namespaces: Namespace[] = [
    ...n.namespaces.map((name, i) => ({ metadata: { name, labels: { [TENANT_LABEL]: n.tenantOf(i) } } })),
    { metadata: { name: n.ingress } },
  ];
  const tenants = n.tenants.map((name, t) => tenantObject(n, t, uids.get(name) ?? `uid-of-${name}`));
  return compile({ tenants, namespaces, settings: defaultSettings(OPERATOR_NAMESPACE) }).policies;
}

/** The policy with its owners' real uids (the compiler's output is frozen and shares owner lists). */
function withUids(policy: NetworkPolicy, uids: ReadonlyMap<string, string>): object {
  const ownerReferences = (policy.metadata.ownerReferences ?? []).map((ref) => ({ ...ref, uid: uids.get(ref.name) ?? ref.uid }));
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { ...policy.metadata, ownerReferences }, spec: policy.spec };
}

const keyOf = (namespace: string, name: string): string => `${namespace}/${name}`;

/**
 * What a user does to onboard: apply the TenantIsolations, then label the namespaces, with
 * CONCURRENCY writers. Returns each tenant's uid. Both phases time exactly these writes.
 */
async function onboard(admin: KubeClient, n: Names): Promise<Map<string, string>> {
  const uids = new Map<string, string>();
  await pool(n.tenants, CONCURRENCY, async (name) => {
    const t = n.tenants.indexOf(name);
    const created = await admin.request<TenantIsolation>({
      method: 'PATCH',
      path: resourcePath(RESOURCES.tenantIsolations, { name }),
      query: { fieldManager: BENCH_MANAGER, force: true },
      contentType: APPLY,
      body: tenantObject(n, t),
    });
    uids.set(name, created.metadata.uid ?? '');
  });
  await pool(n.namespaces, CONCURRENCY, async (name) => {
    await admin.request({
      method: 'PATCH',
      path: resourcePath(RESOURCES.namespaces, { name }),
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels: { [TENANT_LABEL]: n.tenantOf(n.namespaces.indexOf(name)) } } },
    });
  });
  return uids;
}

/** Unlabelled namespaces (setup, not timed). */
async function createNamespaces(admin: KubeClient, n: Names): Promise<void> {
  await pool([...n.namespaces, n.ingress], 16, async (name) => {
    await admin.request({ method: 'POST', path: resourcePath(RESOURCES.namespaces), body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
  });
}

// --- phase 1: the floor ----------------------------------------------------------------

interface FloorFigures {
  policies: number;
  inputMs: number;
  applyMs: number;
  totalMs: number;
  /** CPU of this process (the input writers and the apply loop) in the timed part. */
  cpuSeconds: number;
}

async function runFloor(binaries: Binaries): Promise<FloorFigures> {
  const plane = await startControlPlane({ binaries, log: progress });
  try {
    const { admin, operator } = await install(plane);
    const n = names('floor-');
    await createNamespaces(admin, n);
    const precomputed = desiredPolicies(n, new Map());
    progress(`floor: ${precomputed.length} policies precomputed for ${NAMESPACES} namespaces of ${TENANTS} tenants; applying with ${CONCURRENCY} workers`);

    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const uids = await onboard(admin, n);
    const t1 = performance.now();
    await pool(precomputed, CONCURRENCY, async (policy) => {
      await operator.request({
        method: 'PATCH',
        path: resourcePath(RESOURCES.networkPolicies, { namespace: policy.metadata.namespace, name: policy.metadata.name }),
        query: { fieldManager: FIELD_MANAGER, force: true },
        contentType: APPLY,
        body: withUids(policy, uids),
      });
    });
    const t2 = performance.now();
    const cpu = process.cpuUsage(cpu0);

    const stored = await listManagedPolicies(admin);
    if (stored.size !== precomputed.length) throw new Error(`floor: ${stored.size} policies stored, ${precomputed.length} applied`);
    return { policies: precomputed.length, inputMs: t1 - t0, applyMs: t2 - t1, totalMs: t2 - t0, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  } finally {
    await plane.stop();
  }
}

// --- phase 2: the operator -------------------------------------------------------------

interface Heap {
  usedMb: number;
  totalMb: number;
  externalMb: number;
}

interface OperatorFigures {
  /** Writes from the first input write until convergence, by verb. */
  convergenceWrites: Map<string, number>;
  /** CPU the operator process used from the first input write until convergence. */
  convergenceCpuSeconds: number;
  heapConverged: Heap;
  heapWithPods: Heap;
  logFile: string | undefined;
  policies: number;
  readyMs: number;
  inputMs: number;
  totalMs: number;
  tenantsReadyMs: number;
  podsMs: number;
  rssConvergedMb: number;
  rssMaxMb: number;
  rssLastMb: number;
  /** VmHWM: the most it ever held. */
  rssPeakMb: number;
  /** process_resident_memory_bytes after the resync. */
  rssMetricMb: number;
  resyncWrites: Map<string, number>;
  resyncReconciles: number;
  resyncWaitedMs: number;
  resyncKeys: number;
  exitCode: number | null;
  logProblems: string[];
}

async function runOperatorPhase(binaries: Binaries): Promise<OperatorFigures> {
  const plane = await startControlPlane({ binaries, log: progress });
  const logDir = mkdtempSync(join(tmpdir(), 'netfence-bench-'));
  let operator: OperatorChild | undefined;
  let keepLogs = true;
  try {
    const { admin } = await install(plane);
    const n = names('op-');
    await createNamespaces(admin, n);
    const expected = new Set(desiredPolicies(n, new Map()).map((p) => keyOf(p.metadata.namespace, p.metadata.name)));

    const started = performance.now();
    operator = await startOperatorChild(plane, join(logDir, 'operator.log'));
    await until('the operator answers /readyz 200', 60_000, async () => (await fetch(`http://127.0.0.1:${operator?.healthPort}/readyz`)).status === 200);
    const readyMs = performance.now() - started;
    progress(`operator ready after ${ms(readyMs)} (pid ${operator.pid}, log ${operator.logFile}); onboarding ${NAMESPACES} namespaces`);

    const seen = await watchPolicies(admin, expected);
    const writesBefore = await scrape(operator.metricsPort);
    const cpu0 = cpuSecondsOf(operator.pid);
    const t0 = performance.now();
    const uids = await onboard(admin, n);
    const t1 = performance.now();
    const converged = await Promise.race([
      seen.complete,
      operator.exited.then((code) => Promise.reject(new Error(`the operator exited (code ${code}) before converging`))),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`not converged after ${ms(CONVERGE_TIMEOUT_MS)}`)), CONVERGE_TIMEOUT_MS).unref()),
    ]);
    seen.stop();
    const convergenceCpuSeconds = cpuSecondsOf(operator.pid) - cpu0;
    const convergenceWrites = writesByVerb(writesBefore, await scrape(operator.metricsPort));
    const stored = await listManagedPolicies(admin);
    const missing = [...expected].filter((key) => !stored.has(key));
    const extra = [...stored.keys()].filter((key) => !expected.has(key));
    if (missing.length || extra.length) throw new Error(`operator: ${missing.length} policies missing (${missing.slice(0, 3).join(', ')}), ${extra.length} unexpected (${extra.slice(0, 3).join(', ')})`);
    const wrongOwner = [...stored.values()].filter((p) => p.metadata.ownerReferences?.[0]?.uid !== uids.get(p.metadata.ownerReferences?.[0]?.name ?? ''));
    if (wrongOwner.length) throw new Error(`operator: ${wrongOwner.length} policies without their tenant's uid as owner`);
    progress(`converged after ${ms(converged - t0)}; waiting for every tenant to be Ready`);

    await until('every TenantIsolation is Ready', 120_000, async () => {
      const list = await admin.request<{ items: TenantIsolation[] }>({ method: 'GET', path: resourcePath(RESOURCES.tenantIsolations) });
      return list.items.filter((t) => t.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length === TENANTS;
    });
    const tenantsReadyMs = performance.now() - t0;
    await settle(operator.metricsPort);
    const rssConvergedMb = rssMb(operator.pid, 'VmRSS');
    const heapConverged = heapOf(await scrape(operator.metricsPort));

    progress(`creating ${PODS} pods with ${POD_WORKERS} workers`);
    const p0 = performance.now();
    await createPods(admin, n);
    const podsMs = performance.now() - p0;
    // Pods without an expose label cause no reconcile: the 5 s of samples give its watch time.
    await settle(operator.metricsPort);
    const samples: number[] = [];
    for (let i = 0; i < 10; i++) {
      samples.push(rssMb(operator.pid, 'VmRSS'));
      await sleep(500);
    }
    const heapWithPods = heapOf(await scrape(operator.metricsPort));

    progress(`waiting for a resync of the unchanged cluster (period ${RESYNC_PERIOD})`);
    const resyncKeys = expectedKeys(expected);
    const resync = await measureResync(operator.metricsPort, resyncKeys);
    const rssPeakMb = rssMb(operator.pid, 'VmHWM');
    const logProblems = operator.problems();
    const exitCode = await operator.stop();
    operator = undefined;
    keepLogs = KEEP_LOGS;
    return {
      convergenceCpuSeconds,
      convergenceWrites,
      heapConverged,
      heapWithPods,
      logFile: KEEP_LOGS ? join(logDir, 'operator.log') : undefined,
      policies: expected.size,
      readyMs,
      inputMs: t1 - t0,
      totalMs: converged - t0,
      tenantsReadyMs,
      podsMs,
      rssConvergedMb,
      rssMaxMb: Math.max(...samples),
      rssLastMb: samples.at(-1) ?? 0,
      rssPeakMb,
      rssMetricMb: resync.rssMb,
      resyncWrites: resync.writes,
      resyncReconciles: resync.reconciles,
      resyncWaitedMs: resync.waitedMs,
      resyncKeys,
      exitCode,
      logProblems,
    };
  } catch (error) {
    if (operator) process.stderr.write(`[bench] last lines of ${operator.logFile}:\n${tail(operator.logFile)}\n`);
    throw error;
  } finally {
    await operator?.stop();
    await plane.stop();
    if (!keepLogs) rmSync(logDir, { recursive: true, force: true });
  }
}

/** Namespaces with policies plus tenants: the keys one resync reconciles. */
function expectedKeys(expected: ReadonlySet<string>): number {
  return new Set([...expected].map((key) => key.split('/')[0])).size + TENANTS;
}

async function createPods(admin: KubeClient, n: Names): Promise<void> {
  const indexes = Array.from({ length: PODS }, (_, p) => p);
  await pool(indexes, POD_WORKERS, async (p) => {
    const labels: Record<string, string> = { app: p % 4 === 0 ? 'api' : 'worker' };
    if (p % 5 === 0) labels[`${EXPOSE_LABEL_PREFIX}web`] = 'true';
    await admin.request({
      method: 'POST',
      path: resourcePath(RESOURCES.pods, { namespace: n.namespaces[p % NAMESPACES] as string }),
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `pod-${p}`, labels },
        spec: { containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.10' }] },
      },
    });
  });
}

/**
 * Waits until at least `keys` reconciles have run after the cluster settled (one full
 * resync, as a resync queues every key once), then until it settles again; returns the
 * writes made meanwhile, by verb.
 */
async function measureResync(metricsPort: number, keys: number): Promise<{ writes: Map<string, number>; reconciles: number; waitedMs: number; rssMb: number }> {
  const before = await scrape(metricsPort);
  const start = performance.now();
  const [, amount = '600', unit = 's'] = /^(\d+)(ms|s|m)$/.exec(RESYNC_PERIOD) ?? [];
  const period = Number(amount) * { ms: 1, s: 1000, m: 60_000 }[unit as 'ms' | 's' | 'm'];
  await until(`${keys} reconciles of a resync`, period + 120_000, async () => sumOf(await scrape(metricsPort), 'netfence_reconcile_duration_seconds_count') - sumOf(before, 'netfence_reconcile_duration_seconds_count') >= keys, 250);
  await settle(metricsPort);
  const after = await scrape(metricsPort);
  const writes = writesByVerb(before, after);
  const reconciles = sumOf(after, 'netfence_reconcile_duration_seconds_count') - sumOf(before, 'netfence_reconcile_duration_seconds_count');
  return { writes, reconciles, waitedMs: performance.now() - start, rssMb: (after.get('process_resident_memory_bytes') ?? 0) / 1024 / 1024 };
}

// --- the operator as a child process -----------------------------------------------------

interface OperatorChild {
  pid: number;
  metricsPort: number;
  healthPort: number;
  logFile: string;
  /** Resolves with the exit code (null after a signal) when it exits. */
  exited: Promise<number | null>;
  /** Warn and error lines of its log, for the summary. */
  problems(): string[];
  /** SIGTERM, SIGKILL after 15 s; resolves with the exit code. */
  stop(): Promise<number | null>;
}

async function startOperatorChild(plane: ControlPlane, logFile: string): Promise<OperatorChild> {
  const [metricsPort, healthPort] = await freePorts(2);
  const args = [
    join(REPO, 'bin', 'netfence.js'),
    'run',
    '--kubeconfig', plane.operatorKubeconfig,
    '--bind-address', '127.0.0.1',
    '--metrics-port', String(metricsPort),
    '--health-port', String(healthPort),
    '--leader-elect', 'false',
    '--concurrency', String(CONCURRENCY),
    '--resync-period', RESYNC_PERIOD,
    '--log-level', 'info',
  ];
  // Only the flags above configure it: no NETFENCE_* from the caller's environment.
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('NETFENCE_') && key !== 'NODE_OPTIONS'));
  if (OPERATOR_NODE_OPTIONS) env['NODE_OPTIONS'] = OPERATOR_NODE_OPTIONS;
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, args, { cwd: REPO, env, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  if (child.pid === undefined) throw new Error('could not start the operator');
  let stopping: Promise<number | null> | undefined;
  return {
    pid: child.pid,
    metricsPort: metricsPort as number,
    healthPort: healthPort as number,
    logFile,
    exited,
    problems: () =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((line) => /"level":"(warn|error)"/.test(line)),
    stop: () => {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
          await exited;
          clearTimeout(timer);
        }
        process.off('exit', killOnExit);
        return child.exitCode;
      })();
      return stopping;
    },
  };
}

/** Prometheus text as series -> value (netfence_*, resident memory and V8 heap). */
async function scrape(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^((?:netfence_[a-z_]+|process_resident_memory_bytes|nodejs_heap_size_(?:used|total)_bytes|nodejs_external_memory_bytes)(?:\{[^}]*\})?) ([0-9.e+-]+)$/.exec(line);
    if (m) values.set(m[1] as string, Number(m[2]));
  }
  return values;
}

/** netfence_api_writes_total between two scrapes, by verb, zeros left out. */
function writesByVerb(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): Map<string, number> {
  const writes = new Map<string, number>();
  for (const [series, value] of after) {
    if (!series.startsWith('netfence_api_writes_total')) continue;
    const delta = value - (before.get(series) ?? 0);
    if (delta !== 0) writes.set(/verb="([^"]*)"/.exec(series)?.[1] ?? '?', delta);
  }
  return writes;
}

function heapOf(metrics: ReadonlyMap<string, number>): Heap {
  const mib = (name: string) => (metrics.get(name) ?? 0) / 1024 / 1024;
  return { usedMb: mib('nodejs_heap_size_used_bytes'), totalMb: mib('nodejs_heap_size_total_bytes'), externalMb: mib('nodejs_external_memory_bytes') };
}

const describeWrites = (writes: ReadonlyMap<string, number>): string => {
  const total = [...writes.values()].reduce((sum, n) => sum + n, 0);
  return writes.size ? `${total} (${[...writes].map(([verb, n]) => `${verb} ${n}`).join(', ')})` : '0';
};

const describeHeap = (heap: Heap): string => `V8 heap used ${mb(heap.usedMb)} of ${mb(heap.totalMb)}, external ${mb(heap.externalMb)}`;

function sumOf(metrics: ReadonlyMap<string, number>, name: string): number {
  let sum = 0;
  for (const [series, value] of metrics) if (series === name || series.startsWith(`${name}{`)) sum += value;
  return sum;
}

/** Until the queue is empty and no write or reconcile happened for 3 s. */
async function settle(metricsPort: number): Promise<void> {
  let last = '';
  let quietSince = performance.now();
  await until('the operator settles', 180_000, async () => {
    const m = await scrape(metricsPort);
    const now = `${sumOf(m, 'netfence_api_writes_total')}/${sumOf(m, 'netfence_reconcile_duration_seconds_count')}`;
    if (now !== last || (m.get('netfence_queue_depth') ?? 0) > 0) {
      last = now;
      quietSince = performance.now();
      return false;
    }
    return performance.now() - quietSince >= 3_000;
  }, 250);
}

/** utime + stime of a process, from /proc/<pid>/stat (clock ticks of 1/100 s, as on Linux). */
function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  return rssMbFromStatus(readFileSync(`/proc/${pid}/status`, 'utf8'), field);
}

function rssMbFromStatus(status: string, field: string): number {
  const kb = Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  if (!Number.isFinite(kb)) throw new Error(`no ${field} in /proc/<pid>/status`);
  return kb / 1024;
}

// --- cluster plumbing ----------------------------------------------------------------------

function clientOf(kubeconfig: string): KubeClient {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig);
  return kubeClient(config);
}

/** The CRD from crds/, the operator namespace and config/rbac, as an admin applies them. */
async function install(plane: ControlPlane): Promise<{ admin: KubeClient; operator: KubeClient }> {
  const admin = clientOf(plane.adminKubeconfig);
  const operator = clientOf(plane.operatorKubeconfig);
  const objects = [
    ...kustomization('crds'),
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: OPERATOR_NAMESPACE } },
    ...kustomization(join('config', 'rbac')),
  ];
  for (const object of objects) await applyManifest(admin, object);
  await until('the TenantIsolation CRD is established', 30_000, async () => {
    const crd = await admin.request<{ status?: { conditions?: { type: string; status: string }[] } }>({
      method: 'GET',
      path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}`,
    });
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
  });
  await until('the operator identity may patch NetworkPolicies', 30_000, async () => {
    const review = await operator.request<{ status?: { allowed?: boolean } }>({
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: 'patch', group: 'networking.k8s.io', resource: 'networkpolicies' } } },
    });
    await operator.request({ method: 'GET', path: resourcePath(RESOURCES.tenantIsolations), query: { limit: 1 } });
    return review.status?.allowed === true;
  });
  return { admin, operator };
}

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

function kustomization(dir: string): Manifest[] {
  const read = (file: string): Manifest[] =>
    parseAllDocuments(readFileSync(join(REPO, dir, file), 'utf8'))
      .map((doc) => doc.toJS() as Manifest | null)
      .filter((object): object is Manifest => object !== null && typeof object === 'object');
  const [k] = read('kustomization.yaml') as unknown as [{ resources?: string[] }?];
  return (k?.resources ?? []).flatMap(read);
}

/** Server-side apply of a manifest whose plural is its lower-cased kind plus `s` (true of everything installed here). */
async function applyManifest(admin: KubeClient, object: Manifest): Promise<void> {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  const ns = object.metadata.namespace ? `/namespaces/${object.metadata.namespace}` : '';
  await admin.request({
    method: 'PATCH',
    path: `${base}${ns}/${object.kind.toLowerCase()}s/${object.metadata.name}`,
    query: { fieldManager: BENCH_MANAGER, force: true },
    contentType: APPLY,
    body: object,
  });
}

async function listManagedPolicies(client: KubeClient): Promise<Map<string, NetworkPolicy>> {
  const list = await client.request<{ items: NetworkPolicy[] }>({
    method: 'GET',
    path: resourcePath(RESOURCES.networkPolicies),
    query: { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}` },
    timeoutMs: 120_000,
  });
  return new Map(list.items.map((p) => [keyOf(p.metadata.namespace, p.metadata.name), p]));
}

/**
 * A watch on managed policies from now on; `complete` resolves with the time the last of
 * `expected` arrived (performance.now()), and rejects when the watch breaks first.
 */
async function watchPolicies(client: KubeClient, expected: ReadonlySet<string>): Promise<{ complete: Promise<number>; stop(): void }> {
  const labelSelector = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;
  const list = await client.request<{ metadata: { resourceVersion: string }; items: NetworkPolicy[] }>({
    method: 'GET',
    path: resourcePath(RESOURCES.networkPolicies),
    query: { labelSelector },
  });
  const present = new Set(list.items.map((p) => keyOf(p.metadata.namespace, p.metadata.name)).filter((key) => expected.has(key)));
  const abort = new AbortController();
  const complete = (async (): Promise<number> => {
    if (present.size === expected.size) return performance.now();
    const events = client.watch<NetworkPolicy>({
      path: resourcePath(RESOURCES.networkPolicies),
      query: { watch: true, labelSelector, resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true },
      signal: abort.signal,
    });
    for await (const event of events) {
      if (event.type === 'ERROR') throw new Error(`policy watch failed: ${JSON.stringify(event.object)}`);
      if (event.type === 'BOOKMARK') continue;
      const key = keyOf(event.object.metadata.namespace, event.object.metadata.name);
      if (!expected.has(key)) continue;
      if (event.type === 'DELETED') present.delete(key);
      else present.add(key);
      if (present.size === expected.size) return performance.now();
    }
    throw new Error(`the policy watch ended with ${present.size} of ${expected.size} policies seen`);
  })();
  complete.catch(() => undefined);
  return { complete, stop: () => abort.abort() };
}

// --- small helpers -------------------------------------------------------------------------

/** Runs `work` over `items` with `workers` at a time; the first failure stops new work and is thrown. */
async function pool<T>(items: readonly T[], workers: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(workers, items.length)) }, worker));
  if (failure) throw failure.error;
}

async function until(what: string, timeoutMs: number, probe: () => Promise<boolean>, everyMs = 200): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  while (performance.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${ms(timeoutMs)} waiting until ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'bin', 'netfence.js'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find bin/netfence.js above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

const sleep = (msToWait: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, msToWait));
const ms = (value: number): string => (value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`);
const mb = (value: number): string => `${value.toFixed(1)} MB`;

// --- main ----------------------------------------------------------------------------------

async function main(): Promise<void> {
  const binaries = await provideBinaries({ log: progress });
  if (isUnavailable(binaries)) throw new Error(`no control plane: ${binaries.unavailable}`);
  progress(`${NAMESPACES} namespaces, ${TENANTS} tenants, ${PODS} pods, concurrency ${CONCURRENCY}; phase 1: the floor`);
  const floor = await runFloor(binaries);
  progress(`floor: ${ms(floor.totalMs)}; phase 2: the operator`);
  const op = await runOperatorPhase(binaries);

  const lines = [
    `bench/converge: ${NAMESPACES} namespaces, ${TENANTS} tenants, ${op.policies} policies, ${PODS} pods; concurrency ${CONCURRENCY}; kube-apiserver and etcd on loopback`,
    '',
    'convergence (each from the first TenantIsolation write; both include the same input writes:',
    `  ${TENANTS} TenantIsolation applies then ${NAMESPACES} namespace label patches, ${CONCURRENCY} at a time)`,
    `  floor:    ${ms(floor.totalMs)} = input writes ${ms(floor.inputMs)} + ${floor.policies} server-side applies of precomputed policies ${ms(floor.applyMs)} (operator identity, ${CONCURRENCY} workers); CPU of the writers ${floor.cpuSeconds.toFixed(1)} s`,
    `  operator: ${ms(op.totalMs)} until a watch had seen every expected policy (input writes took ${ms(op.inputMs)}, the operator working meanwhile); every tenant Ready after ${ms(op.tenantsReadyMs)}`,
    `            until then the operator wrote ${describeWrites(op.convergenceWrites)} and used ${op.convergenceCpuSeconds.toFixed(1)} s of CPU (this machine: ${availableParallelism()} CPUs, shared with kube-apiserver and etcd)`,
    `  ratio:    ${(op.totalMs / floor.totalMs).toFixed(2)}x (goal <= 1.3x)`,
    '',
    `memory (operator process, VmRSS from /proc${OPERATOR_NODE_OPTIONS ? `, NODE_OPTIONS=${OPERATOR_NODE_OPTIONS}` : ''}):`,
    `  with ${PODS} pods: max ${mb(op.rssMaxMb)}, last ${mb(op.rssLastMb)} over 5 s (goal < 150 MB); ${describeHeap(op.heapWithPods)}`,
    `  converged, before the pods: ${mb(op.rssConvergedMb)}; ${describeHeap(op.heapConverged)}`,
    `  peak over its life (VmHWM) ${mb(op.rssPeakMb)}; process_resident_memory_bytes after the resync ${mb(op.rssMetricMb)}`,
    `  (${PODS} pods created in ${ms(op.podsMs)} with ${POD_WORKERS} workers; operator ready ${ms(op.readyMs)} after start)`,
    '',
    `resync of the unchanged cluster (--resync-period ${RESYNC_PERIOD}; waited ${ms(op.resyncWaitedMs)} for >= ${op.resyncKeys} reconciles): ${op.resyncReconciles} reconciles, ${describeWrites(op.resyncWrites)} writes (goal 0)`,
    '',
    `operator exit code ${op.exitCode} after SIGTERM; ${op.logProblems.length} warn/error log lines${op.logProblems.length ? `, first: ${op.logProblems[0]}` : ''}${op.logFile ? `; log ${op.logFile}` : ''}`,
  ];
  console.log(lines.join('\n'));
  if (op.exitCode !== 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/converge failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
