/**
 * bench/apiserver-support: what the benches on a real kube-apiserver (bench/converge,
 * bench/scale, bench/kyverno) share: a generated workload of tenants and namespaces,
 * installing netfence's CRD and RBAC on a test/control-plane, `netfence run` (or any other
 * supervised child process), its /metrics and /proc figures, watches on NetworkPolicies, and
 * small timing helpers. What the integration suites do too (installing, polling, scraping
 * /metrics, the repository and namespace) comes from test/integration/support/harness.ts.
 *
 * Guarantees: every request but the install's applies (client-node's server-side apply, as
 * the suites install) goes through src/kube/client (the operator's own client); the
 * operator child is configured by its flags alone (no NETFENCE_* or NODE_OPTIONS leaks in from
 * the caller); every supervised child is killed when this process exits. Figures are read,
 * never asserted.
 * Leaves out: what a bench times and prints.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fetch } from 'undici';
import { API_VERSION, EXPOSE_LABEL_PREFIX, KIND, MANAGED_BY_LABEL, MANAGED_BY_VALUE, TENANT_LABEL } from '../src/api/constants.js';
import type { Namespace, NetworkPolicy } from '../src/api/k8s.js';
import type { TenantIsolation } from '../src/api/types.js';
import { compile, type CompileResult } from '../src/compiler/compile.js';
import { defaultSettings } from '../src/compiler/settings.js';
import { kubeClient, RESOURCES, resourcePath, type KubeClient } from '../src/kube/client.js';
import { loadConnection } from '../src/kube/config.js';
import { freePorts, type ControlPlane } from '../test/control-plane/control-plane.js';
import { eventually, installForOperator, kubeConfig, OPERATOR_NAMESPACE, REPO_ROOT, scrapeMetrics, sleep, sumOf } from '../test/integration/support/harness.js';
import { deploymentNodeOptions } from '../test/integration/support/image.js';

export { deploymentNodeOptions, OPERATOR_NAMESPACE, sleep, sumOf };
export const BENCH_MANAGER = 'netfence-bench';
export const APPLY = 'application/apply-patch+yaml';
export const REPO = REPO_ROOT;

export const progress = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);

// --- the workload ----------------------------------------------------------------------

/** Names of one run's objects; the prefix keeps phases apart in logs. */
export interface Workload {
  prefix: string;
  namespaces: string[];
  /** A namespace outside every tenant that peers and exposures name (an ingress controller's). */
  ingress: string;
  tenants: string[];
  tenantOf: (namespaceIndex: number) => string;
}

/** `namespaces` namespaces dealt round-robin to `tenants` tenants. */
export function roundRobinWorkload(prefix: string, namespaces: number, tenants: number): Workload {
  const tenant = (t: number) => `${prefix}tenant-${t}`;
  return {
    prefix,
    namespaces: Array.from({ length: namespaces }, (_, i) => `${prefix}ns-${i}`),
    ingress: `${prefix}ingress`,
    tenantOf: (i) => tenant(i % tenants),
    tenants: Array.from({ length: tenants }, (_, t) => tenant(t)),
  };
}

/** Label membership; ingress from the next tenant and the ingress namespace; egress to the previous tenant and the internet; one exposure. */
export function tenantObject(w: Workload, t: number, uid?: string): TenantIsolation {
  const count = w.tenants.length;
  const next = w.tenants[(t + 1) % count] as string;
  const previous = w.tenants[(t + count - 1) % count] as string;
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: w.tenants[t] as string, ...(uid ? { uid } : {}) },
    spec: {
      ingress: {
        from: [
          { tenant: next, ports: [{ port: 8080 }] },
          { namespaces: [w.ingress], ports: [{ port: 443 }] },
        ],
      },
      egress: {
        to: [
          { tenant: previous, ports: [{ port: 8080 }] },
          { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'], ports: [{ port: 443 }] },
        ],
      },
      exposures: [{ name: 'web', from: [{ namespaces: [w.ingress] }], ports: [{ port: 8080 }] }],
    },
  };
}

/** What the compiler wants once every tenant exists and every namespace is labelled: the policies, and the member labels. */
export function desiredState(w: Workload, uids: ReadonlyMap<string, string>): CompileResult {
  const namespaces: Namespace[] = [...w.namespaces.map((name, i) => ({ metadata: { name, labels: { [TENANT_LABEL]: w.tenantOf(i) } } })), { metadata: { name: w.ingress } }];
  const tenants = w.tenants.map((name, t) => tenantObject(w, t, uids.get(name) ?? `uid-of-${name}`));
  return compile({ tenants, namespaces, settings: defaultSettings(OPERATOR_NAMESPACE) });
}

/** The policies of desiredState. */
export const desiredPolicies = (w: Workload, uids: ReadonlyMap<string, string>): readonly NetworkPolicy[] => desiredState(w, uids).policies;

export const keyOf = (namespace: string, name: string): string => `${namespace}/${name}`;

/** Namespaces named `names`, each with the labels `labelsOf` gives (setup, not timed). */
export async function createNamespaces(
  admin: KubeClient,
  names: readonly string[],
  workers: number,
  labelsOf: (name: string) => Record<string, string> = () => ({}),
): Promise<void> {
  await pool(names, workers, async (name) => {
    const labels = labelsOf(name);
    await admin.request({
      method: 'POST',
      path: resourcePath(RESOURCES.namespaces),
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(Object.keys(labels).length ? { labels } : {}) } },
    });
  });
}

/** `count` pods dealt round-robin over `namespaces`, one in five with the `web` expose label; never scheduled (setup, not timed). */
export async function createPods(admin: KubeClient, namespaces: readonly string[], count: number, workers: number): Promise<void> {
  const indexes = Array.from({ length: count }, (_, p) => p);
  await pool(indexes, workers, async (p) => {
    const labels: Record<string, string> = { app: p % 4 === 0 ? 'api' : 'worker' };
    if (p % 5 === 0) labels[`${EXPOSE_LABEL_PREFIX}web`] = 'true';
    await admin.request({
      method: 'POST',
      path: resourcePath(RESOURCES.pods, { namespace: namespaces[p % namespaces.length] as string }),
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `pod-${p}`, labels },
        spec: { containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.10' }] },
      },
    });
  });
}

// --- cluster plumbing ------------------------------------------------------------------

export const clientOf = (kubeconfig: string): KubeClient => kubeClient(kubeConfig(kubeconfig));

/** The CRD from crds/, the operator namespace and config/rbac, as an admin applies them (installForOperator, 30 s for each wait, polled every 200 ms). */
export async function install(plane: ControlPlane): Promise<{ admin: KubeClient; operator: KubeClient }> {
  await installForOperator(
    { admin: kubeConfig(plane.adminKubeconfig), operator: kubeConfig(plane.operatorKubeconfig) },
    { fieldManager: BENCH_MANAGER, timeoutMs: 30_000, everyMs: 200 },
  );
  return { admin: clientOf(plane.adminKubeconfig), operator: clientOf(plane.operatorKubeconfig) };
}

export async function listManagedPolicies(client: KubeClient): Promise<Map<string, NetworkPolicy>> {
  const list = await client.request<{ items: NetworkPolicy[] }>({
    method: 'GET',
    path: resourcePath(RESOURCES.networkPolicies),
    query: { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}` },
    timeoutMs: 300_000,
  });
  return new Map(list.items.map((p) => [keyOf(p.metadata.namespace, p.metadata.name), p]));
}

/** The API server's own /metrics as text (the client must be allowed `get` on that URL: an admin). */
export async function apiserverMetrics(kubeconfig: string): Promise<string> {
  const connection = await loadConnection({ kubeconfig });
  const response = await fetch(`${connection.server}/metrics`, { headers: await connection.headers(), dispatcher: connection.dispatcher });
  if (!response.ok) throw new Error(`GET /metrics of the API server: ${response.status}`);
  return response.text();
}

export interface PolicyEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  namespace: string;
  name: string;
  /** performance.now() when it arrived. */
  at: number;
}

export interface PolicyWatch {
  /** Keys of the managed policies the initial list held. */
  listed: ReadonlySet<string>;
  /** Rejects when the watch breaks (it resumes by itself when the server merely closes it). */
  failed: Promise<never>;
  stop: () => void;
}

/** Which NetworkPolicies a watch covers, in every namespace. */
export type PolicySelector = { labelSelector: string } | { fieldSelector: string };

/**
 * A watch from now on on the NetworkPolicies `selector` matches, calling `onEvent` for each
 * change. When the server ends the stream it resumes from the last resourceVersion seen
 * (bookmarks on).
 */
export async function watchNetworkPolicies(client: KubeClient, selector: PolicySelector, onEvent: (event: PolicyEvent) => void): Promise<PolicyWatch> {
  const list = await client.request<{ metadata: { resourceVersion: string }; items: NetworkPolicy[] }>({
    method: 'GET',
    path: resourcePath(RESOURCES.networkPolicies),
    query: selector,
    timeoutMs: 300_000,
  });
  const abort = new AbortController();
  let resourceVersion = list.metadata.resourceVersion;
  const failed = (async (): Promise<never> => {
    while (!abort.signal.aborted) {
      const events = client.watch<NetworkPolicy>({
        path: resourcePath(RESOURCES.networkPolicies),
        query: { watch: true, ...selector, resourceVersion, allowWatchBookmarks: true },
        signal: abort.signal,
      });
      for await (const event of events) {
        if (event.type === 'ERROR') throw new Error(`policy watch failed: ${JSON.stringify(event.object)}`);
        resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion;
        if (event.type === 'BOOKMARK') continue;
        onEvent({ type: event.type, namespace: event.object.metadata.namespace, name: event.object.metadata.name, at: performance.now() });
      }
    }
    return new Promise<never>(() => undefined);
  })();
  failed.catch(() => undefined);
  return { listed: new Set(list.items.map((p) => keyOf(p.metadata.namespace, p.metadata.name))), failed, stop: () => abort.abort() };
}

/** watchNetworkPolicies on the policies netfence manages. */
export const watchManagedPolicies = (client: KubeClient, onEvent: (event: PolicyEvent) => void): Promise<PolicyWatch> =>
  watchNetworkPolicies(client, { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}` }, onEvent);

/**
 * A watch on managed policies from now on; `complete` resolves with the time the last of
 * `expected` arrived (performance.now()), and rejects when the watch breaks first.
 */
export async function watchPolicies(client: KubeClient, expected: ReadonlySet<string>): Promise<{ complete: Promise<number>; stop(): void }> {
  let present = new Set<string>();
  let done: ((at: number) => void) | undefined;
  const arrived = new Promise<number>((resolve) => (done = resolve));
  const watch = await watchManagedPolicies(client, (event) => {
    const key = keyOf(event.namespace, event.name);
    if (!expected.has(key)) return;
    if (event.type === 'DELETED') present.delete(key);
    else present.add(key);
    if (present.size === expected.size) done?.(event.at);
  });
  present = new Set([...watch.listed].filter((key) => expected.has(key)));
  if (present.size === expected.size) done?.(performance.now());
  const complete = Promise.race([arrived, watch.failed]);
  complete.catch(() => undefined);
  return { complete, stop: () => watch.stop() };
}

// --- the operator as a child process ---------------------------------------------------

export interface OperatorChildOptions {
  logFile: string;
  concurrency: number;
  resyncPeriod: string;
  /** NODE_OPTIONS for the child; none when empty. */
  nodeOptions: string;
  /** Leader election on, under this identity (POD_NAME); off when absent. */
  identity?: string;
  /** More `netfence run` flags. */
  flags?: readonly string[];
}

/** A child process that is killed when this process exits. */
export interface Supervised {
  pid: number;
  /** Resolves with the exit code (null after a signal) when it exits. */
  exited: Promise<number | null>;
  /** SIGTERM, SIGKILL after 15 s; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL at once, as a crash or an OOM kill would end it; resolves once it is gone. */
  kill(): Promise<void>;
}

/** Supervises `child` (just spawned; `what` names it in the error when it did not start). */
export function supervise(child: ChildProcess, what: string): Supervised {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  if (child.pid === undefined) throw new Error(`could not start ${what}`);
  let stopping: Promise<number | null> | undefined;
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    pid: child.pid,
    exited,
    stop: () => {
      stopping ??= (async () => {
        if (running()) {
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
    kill: async () => {
      if (running()) child.kill('SIGKILL');
      await exited;
      process.off('exit', killOnExit);
    },
  };
}

export interface OperatorChild extends Supervised {
  metricsPort: number;
  healthPort: number;
  logFile: string;
  /** Warn and error lines of its log, for the summary. */
  problems(): string[];
}

export async function startOperatorChild(plane: ControlPlane, options: OperatorChildOptions): Promise<OperatorChild> {
  const { logFile } = options;
  const [metricsPort, healthPort] = await freePorts(2);
  const args = [
    join(REPO, 'bin', 'netfence.js'),
    'run',
    '--kubeconfig',
    plane.operatorKubeconfig,
    '--bind-address',
    '127.0.0.1',
    '--metrics-port',
    String(metricsPort),
    '--health-port',
    String(healthPort),
    '--leader-elect',
    options.identity ? 'true' : 'false',
    '--concurrency',
    String(options.concurrency),
    '--resync-period',
    options.resyncPeriod,
    '--log-level',
    'info',
    ...(options.flags ?? []),
  ];
  // Only the flags above configure it: no NETFENCE_* from the caller's environment.
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('NETFENCE_') && key !== 'NODE_OPTIONS' && key !== 'POD_NAME'));
  if (options.nodeOptions) env['NODE_OPTIONS'] = options.nodeOptions;
  if (options.identity) Object.assign(env, { POD_NAME: options.identity, POD_NAMESPACE: OPERATOR_NAMESPACE });
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, args, { cwd: REPO, env, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  return {
    ...supervise(child, 'the operator'),
    metricsPort: metricsPort as number,
    healthPort: healthPort as number,
    logFile,
    problems: () =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((line) => /"level":"(warn|error)"/.test(line)),
  };
}

// --- the operator's figures ------------------------------------------------------------

export interface Heap {
  usedMb: number;
  totalMb: number;
  externalMb: number;
}

/** The operator's /metrics as series -> value (netfence_*, resident memory and V8 heap). */
export const scrape: (port: number) => Promise<Map<string, number>> = scrapeMetrics;

/** netfence_api_writes_total between two scrapes, by verb, zeros left out. */
export function writesByVerb(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): Map<string, number> {
  const writes = new Map<string, number>();
  for (const [series, value] of after) {
    if (!series.startsWith('netfence_api_writes_total')) continue;
    const delta = value - (before.get(series) ?? 0);
    if (delta !== 0) writes.set(/verb="([^"]*)"/.exec(series)?.[1] ?? '?', delta);
  }
  return writes;
}

export function heapOf(metrics: ReadonlyMap<string, number>): Heap {
  const mib = (name: string) => (metrics.get(name) ?? 0) / 1024 / 1024;
  return { usedMb: mib('nodejs_heap_size_used_bytes'), totalMb: mib('nodejs_heap_size_total_bytes'), externalMb: mib('nodejs_external_memory_bytes') };
}

export const totalOf = (writes: ReadonlyMap<string, number>): number => [...writes.values()].reduce((sum, n) => sum + n, 0);

export const describeWrites = (writes: ReadonlyMap<string, number>): string =>
  writes.size ? `${totalOf(writes)} (${[...writes].map(([verb, n]) => `${verb} ${n}`).join(', ')})` : '0';

export const describeHeap = (heap: Heap): string => `V8 heap used ${mb(heap.usedMb)} of ${mb(heap.totalMb)}, external ${mb(heap.externalMb)}`;

/** Until the queue is empty and no write or reconcile happened for `quietMs`. */
export async function settle(metricsPort: number, timeoutMs = 180_000, quietMs = 3_000): Promise<void> {
  let last = '';
  let quietSince = performance.now();
  await until(
    'the operator settles',
    timeoutMs,
    async () => {
      const m = await scrape(metricsPort);
      const now = `${sumOf(m, 'netfence_api_writes_total')}/${sumOf(m, 'netfence_reconcile_duration_seconds_count')}`;
      if (now !== last || (m.get('netfence_queue_depth') ?? 0) > 0) {
        last = now;
        quietSince = performance.now();
        return false;
      }
      return performance.now() - quietSince >= quietMs;
    },
    250,
  );
}

/** A duration as `netfence run` takes it (500ms, 30s, 10m), in milliseconds. */
export function durationMs(text: string): number {
  const [, amount = '600', unit = 's'] = /^(\d+)(ms|s|m)$/.exec(text) ?? [];
  return Number(amount) * { ms: 1, s: 1000, m: 60_000 }[unit as 'ms' | 's' | 'm'];
}

/**
 * Waits until at least `keys` reconciles have run after the cluster settled (one full
 * resync, as a resync queues every key once), then until it settles again; returns the
 * writes made meanwhile, by verb.
 */
export async function measureResync(
  metricsPort: number,
  keys: number,
  resyncPeriod: string,
): Promise<{ writes: Map<string, number>; reconciles: number; waitedMs: number; rssMb: number }> {
  const before = await scrape(metricsPort);
  const start = performance.now();
  const reconciles = (m: ReadonlyMap<string, number>) => sumOf(m, 'netfence_reconcile_duration_seconds_count') - sumOf(before, 'netfence_reconcile_duration_seconds_count');
  await until(`${keys} reconciles of a resync`, durationMs(resyncPeriod) + 300_000, async () => reconciles(await scrape(metricsPort)) >= keys, 250);
  await settle(metricsPort);
  const after = await scrape(metricsPort);
  return {
    writes: writesByVerb(before, after),
    reconciles: reconciles(after),
    waitedMs: performance.now() - start,
    rssMb: (after.get('process_resident_memory_bytes') ?? 0) / 1024 / 1024,
  };
}

/** utime + stime of a process, from /proc/<pid>/stat (clock ticks of 1/100 s, as on Linux). */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export function rssMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  if (!Number.isFinite(kb)) throw new Error(`no ${field} in /proc/${pid}/status`);
  return kb / 1024;
}

// --- small helpers ---------------------------------------------------------------------

/** Runs `work` over `items` with `workers` at a time; the first failure stops new work and is thrown. */
export async function pool<T>(items: readonly T[], workers: number, work: (item: T) => Promise<void>): Promise<void> {
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

/** Polls `probe` every `everyMs` until it returns true (eventually, with a fixed interval). */
export const until = (what: string, timeoutMs: number, probe: () => Promise<boolean>, everyMs = 200): Promise<void> =>
  eventually(what, async () => ((await probe()) ? true : undefined), { timeoutMs, everyMs }).then(() => undefined);

export function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export const ms = (value: number): string => (value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`);
export const mb = (value: number): string => `${value.toFixed(1)} MB`;
