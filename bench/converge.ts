/**
 * bench/converge: the operator on a real kube-apiserver (test/control-plane), against a floor.
 *
 * 1. Floor, on a control plane of its own: the same input writes a user makes (create the
 *    TenantIsolations, label the namespaces), then a plain loop that writes what the compiler
 *    precomputed (server-side applies of the policies, merge patches of the member labels),
 *    with the operator's identity and BENCH_CONCURRENCY workers. Nothing else runs there.
 * 2. Operator, on a second, fresh control plane: `netfence run` as a child process with
 *    --concurrency BENCH_CONCURRENCY; once it is ready, the same input writes, timed until a
 *    watch has seen every expected policy. Then BENCH_PODS pods, the operator's RSS, and the
 *    writes one resync of the unchanged cluster makes.
 *
 * Goals (issue 15): operator time at most 1.2x the floor; RSS under 120 MB with 1,000
 * namespaces and 20,000 pods, with the Deployment's own NODE_OPTIONS (config/manager); 0
 * writes on resync. Prints figures, asserts none; exits 1 on any error. Run: `npm run
 * bench:converge` (knobs: BENCH_NAMESPACES, BENCH_TENANTS, BENCH_PODS, BENCH_CONCURRENCY,
 * BENCH_RESYNC_PERIOD, BENCH_OPERATOR_NODE_OPTIONS, BENCH_KEEP_LOGS).
 * Leaves out: scheduling (pods never run), a controller-manager, network latency (loopback).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FIELD_MANAGER, MEMBER_LABEL, TENANT_LABEL } from '../src/api/constants.js';
import type { NetworkPolicy } from '../src/api/k8s.js';
import type { TenantIsolation } from '../src/api/types.js';
import { RESOURCES, resourcePath, type KubeClient } from '../src/kube/client.js';
import { isUnavailable, provideBinaries, type Binaries } from '../test/control-plane/binaries.js';
import { startControlPlane } from '../test/control-plane/control-plane.js';
import {
  APPLY,
  BENCH_MANAGER,
  cpuSecondsOf,
  createNamespaces,
  createPods,
  describeHeap,
  describeWrites,
  deploymentNodeOptions,
  desiredState,
  heapOf,
  install,
  keyOf,
  listManagedPolicies,
  mb,
  measureResync,
  ms,
  pool,
  progress,
  roundRobinWorkload,
  rssMb,
  scrape,
  settle,
  sleep,
  startOperatorChild,
  tail,
  tenantObject,
  until,
  watchPolicies,
  writesByVerb,
  type Heap,
  type OperatorChild,
  type Workload,
} from './apiserver-support.js';

const NAMESPACES = Number(process.env.BENCH_NAMESPACES ?? 1_000);
const TENANTS = Number(process.env.BENCH_TENANTS ?? 100);
const PODS = Number(process.env.BENCH_PODS ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const RESYNC_PERIOD = process.env.BENCH_RESYNC_PERIOD ?? '20s';
/** Keep the operator's log (its path is printed) instead of removing it after a clean run. */
const KEEP_LOGS = process.env.BENCH_KEEP_LOGS === '1';
const CONVERGE_TIMEOUT_MS = 15 * 60_000;
/** Workers creating pods (setup, not timed). */
const POD_WORKERS = 32;
/** Workers creating the namespaces (setup, not timed). */
const NAMESPACE_WORKERS = 16;

/** NODE_OPTIONS for the operator child: the Deployment's unless set (`BENCH_OPERATOR_NODE_OPTIONS=` for none). */
const OPERATOR_NODE_OPTIONS = process.env.BENCH_OPERATOR_NODE_OPTIONS ?? deploymentNodeOptions();

// --- the workload ----------------------------------------------------------------------

/** The run's workload; the prefixes `floor-` and `op-` keep the two phases' objects apart in logs. */
const workload = (prefix: string): Workload => roundRobinWorkload(prefix, NAMESPACES, TENANTS);

/** The policy with its owners' real uids (the compiler's output is frozen and shares owner lists). */
function withUids(policy: NetworkPolicy, uids: ReadonlyMap<string, string>): object {
  const ownerReferences = (policy.metadata.ownerReferences ?? []).map((ref) => ({ ...ref, uid: uids.get(ref.name) ?? ref.uid }));
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { ...policy.metadata, ownerReferences }, spec: policy.spec };
}

/**
 * What a user does to onboard: apply the TenantIsolations, then label the namespaces, with
 * CONCURRENCY writers. Returns each tenant's uid. Both phases time exactly these writes.
 */
async function onboard(admin: KubeClient, n: Workload): Promise<Map<string, string>> {
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

/** The workload's namespaces and its ingress namespace, unlabelled (setup, not timed). */
const createWorkloadNamespaces = (admin: KubeClient, n: Workload): Promise<void> => createNamespaces(admin, [...n.namespaces, n.ingress], NAMESPACE_WORKERS);

// --- phase 1: the floor ----------------------------------------------------------------

interface FloorFigures {
  policies: number;
  labels: number;
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
    const n = workload('floor-');
    await createWorkloadNamespaces(admin, n);
    const { policies: precomputed, memberLabels } = desiredState(n, new Map());
    progress(
      `floor: ${precomputed.length} policies and ${memberLabels.length} member labels precomputed for ${NAMESPACES} namespaces of ${TENANTS} tenants; writing with ${CONCURRENCY} workers`,
    );

    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const uids = await onboard(admin, n);
    const t1 = performance.now();
    await pool(memberLabels, CONCURRENCY, async (m) => {
      await operator.request({
        method: 'PATCH',
        path: resourcePath(RESOURCES.namespaces, { name: m.namespace }),
        query: { fieldManager: FIELD_MANAGER },
        contentType: 'application/merge-patch+json',
        body: { metadata: { labels: { [MEMBER_LABEL]: m.tenant } } },
      });
    });
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
    return { policies: precomputed.length, labels: memberLabels.length, inputMs: t1 - t0, applyMs: t2 - t1, totalMs: t2 - t0, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  } finally {
    await plane.stop();
  }
}

// --- phase 2: the operator -------------------------------------------------------------

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
    const n = workload('op-');
    await createWorkloadNamespaces(admin, n);
    const expected = new Set(desiredState(n, new Map()).policies.map((p) => keyOf(p.metadata.namespace, p.metadata.name)));

    const started = performance.now();
    operator = await startOperatorChild(plane, {
      logFile: join(logDir, 'operator.log'),
      concurrency: CONCURRENCY,
      resyncPeriod: RESYNC_PERIOD,
      nodeOptions: OPERATOR_NODE_OPTIONS,
    });
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
    if (missing.length || extra.length)
      throw new Error(`operator: ${missing.length} policies missing (${missing.slice(0, 3).join(', ')}), ${extra.length} unexpected (${extra.slice(0, 3).join(', ')})`);
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
    await createPods(admin, n.namespaces, PODS, POD_WORKERS);
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
    const resync = await measureResync(operator.metricsPort, resyncKeys, RESYNC_PERIOD);
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
    `  floor:    ${ms(floor.totalMs)} = input writes ${ms(floor.inputMs)} + ${floor.labels} member label patches and ${floor.policies} server-side applies of precomputed policies ${ms(floor.applyMs)} (operator identity, ${CONCURRENCY} workers); CPU of the writers ${floor.cpuSeconds.toFixed(1)} s`,
    `  operator: ${ms(op.totalMs)} until a watch had seen every expected policy (input writes took ${ms(op.inputMs)}, the operator working meanwhile); every tenant Ready after ${ms(op.tenantsReadyMs)}`,
    `            until then the operator wrote ${describeWrites(op.convergenceWrites)} and used ${op.convergenceCpuSeconds.toFixed(1)} s of CPU (this machine: ${availableParallelism()} CPUs, shared with kube-apiserver and etcd)`,
    `  ratio:    ${(op.totalMs / floor.totalMs).toFixed(2)}x (goal <= 1.2x)`,
    '',
    `memory (operator process, VmRSS from /proc${OPERATOR_NODE_OPTIONS ? `, NODE_OPTIONS=${OPERATOR_NODE_OPTIONS}` : ''}):`,
    `  with ${PODS} pods: max ${mb(op.rssMaxMb)}, last ${mb(op.rssLastMb)} over 5 s (goal < 120 MB); ${describeHeap(op.heapWithPods)}`,
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
