/**
 * bench/scale: the operator at the size of Kubernetes' published envelope, on a real
 * kube-apiserver (test/control-plane), as `netfence run` child processes with the
 * Deployment's NODE_OPTIONS (read from config/manager/manager.yaml), the operator's RBAC
 * identity and leader election on (BENCH_LEADER_ELECT=false: off). An operator that exits
 * unasked (it does when it loses its Lease) ends the bench with its last error line.
 *
 * 1. At size (BENCH_NAMESPACES namespaces in BENCH_TENANTS tenants by label, BENCH_PODS pods,
 *    all created before the operator starts, untimed): time from the operator's start until
 *    a watch has seen every expected policy; its RSS (peak and settled) and V8 heap; joins at
 *    that size (a new namespace labelled into an existing tenant, until its
 *    netfence-default-deny exists; the operator's writes per join; policies of other
 *    namespaces that changed meanwhile); SIGKILL and a replacement process until /readyz,
 *    leading and caught up; then, from that process alone (it runs with --resync-period
 *    BENCH_RESYNC_PERIOD, the others with the default), the writes of one resync of the
 *    unchanged cluster and LIST and WATCH calls per minute at rest from the API server's
 *    /metrics, against the same window with no operator running (the floor).
 * 2. The same figures but rest and resync at BENCH_BASE_NAMESPACES (tenants and pods scaled
 *    alike) on a control plane of its own, printed as growth from there to the size.
 * 3. Joins against tenant size, on a control plane of its own: one tenant per size in
 *    BENCH_JOIN_SIZES, BENCH_JOINS joins into each.
 * When the machine cannot hold a size (setup or convergence fails), it says so and halves the
 * size until one holds. Prints figures, asserts none; exits 1 on any other error.
 * Run: `npm run bench:scale` (knobs: BENCH_NAMESPACES, BENCH_TENANTS, BENCH_PODS, BENCH_JOINS,
 * BENCH_JOIN_SIZES, BENCH_BASE_NAMESPACES (0: none), BENCH_RESYNC_PERIOD, BENCH_CONCURRENCY,
 * BENCH_REST_SECONDS, BENCH_PHASES (size,sizes), BENCH_MEMBER_LABEL (on|off), BENCH_LEADER_ELECT,
 * BENCH_KEEP_LOGS).
 * Leaves out: scheduling (pods never run), a controller-manager, network latency (loopback),
 * the admission guard (not installed: the member label is the operator's alone here anyway).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { POLICY_NAMES, TENANT_LABEL } from '../src/api/constants.js';
import type { TenantIsolation } from '../src/api/types.js';
import { RESOURCES, resourcePath, type KubeClient } from '../src/kube/client.js';
import { isUnavailable, provideBinaries, type Binaries } from '../test/control-plane/binaries.js';
import { startControlPlane, type ControlPlane } from '../test/control-plane/control-plane.js';
import {
  APPLY,
  BENCH_MANAGER,
  apiserverMetrics,
  cpuSecondsOf,
  createNamespaces,
  createPods,
  describeHeap,
  describeWrites,
  deploymentNodeOptions,
  desiredPolicies,
  heapOf,
  install,
  keyOf,
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
  sumOf,
  tail,
  tenantObject,
  totalOf,
  until,
  watchManagedPolicies,
  writesByVerb,
  type Heap,
  type OperatorChild,
  type PolicyEvent,
  type Workload,
} from './apiserver-support.js';

const knob = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const NAMESPACES = knob('BENCH_NAMESPACES', 10_000);
const TENANTS = knob('BENCH_TENANTS', 1_000);
const PODS = knob('BENCH_PODS', 150_000);
const JOINS = knob('BENCH_JOINS', 10);
const JOIN_SIZES = (process.env.BENCH_JOIN_SIZES ?? '1,100,1000,5000').split(',').map(Number);
const BASE_NAMESPACES = knob('BENCH_BASE_NAMESPACES', 1_000);
/** The replacement process's --resync-period (the resync it measures); the others run with the operator's default. */
const RESYNC_PERIOD = process.env.BENCH_RESYNC_PERIOD ?? '30s';
const DEFAULT_RESYNC_PERIOD = '10m';
const CONCURRENCY = knob('BENCH_CONCURRENCY', 4);
const REST_SECONDS = knob('BENCH_REST_SECONDS', 60);
const PHASES = new Set((process.env.BENCH_PHASES ?? 'size,sizes').split(','));
const MEMBER_LABEL = process.env.BENCH_MEMBER_LABEL;
const KEEP_LOGS = process.env.BENCH_KEEP_LOGS === '1';
/** The Deployment's default (true); false runs every operator process without a Lease. */
const LEADER_ELECT = (process.env.BENCH_LEADER_ELECT ?? 'true') !== 'false';
/** Setup writers (namespaces, pods): many, as setup is not timed. */
const SETUP_WORKERS = 32;
const CONVERGE_TIMEOUT_MS = 30 * 60_000;
const JOIN_TIMEOUT_MS = 60_000;
const NODE_OPTIONS = deploymentNodeOptions();

interface Size {
  namespaces: number;
  tenants: number;
  pods: number;
}

const describeSize = (s: Size): string => `${s.namespaces} namespaces, ${s.tenants} tenants, ${s.pods} pods`;

// --- one policy watch, many listeners --------------------------------------------------

/** Fans one watch on managed policies out to whoever listens at the moment. */
class PolicyEvents {
  private readonly listeners = new Set<(event: PolicyEvent) => void>();
  private stopWatch: (() => void) | undefined;
  failed: Promise<never> = new Promise(() => undefined);

  async start(client: KubeClient): Promise<void> {
    const watch = await watchManagedPolicies(client, (event) => {
      for (const listener of this.listeners) listener(event);
    });
    this.stopWatch = watch.stop;
    this.failed = watch.failed;
  }

  /** Calls `listener` for each event until the returned function is called. */
  listen(listener: (event: PolicyEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the time every key of `expected` had been added (deletions taken back); reports progress every 30 s. */
  allOf(expected: ReadonlySet<string>): Promise<number> {
    const present = new Set<string>();
    const ticker = setInterval(() => progress(`${present.size} of ${expected.size} policies seen`), 30_000);
    return this.raced(
      new Promise<number>((resolve) => {
        const off = this.listen((event) => {
          const key = keyOf(event.namespace, event.name);
          if (!expected.has(key)) return;
          if (event.type === 'DELETED') present.delete(key);
          else present.add(key);
          if (present.size === expected.size) {
            off();
            clearInterval(ticker);
            resolve(event.at);
          }
        });
      }),
    );
  }

  stop(): void {
    this.stopWatch?.();
  }

  private raced<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([promise, this.failed]);
  }
}

// --- figures -----------------------------------------------------------------------------

interface Join {
  latencyMs: number;
  /** From the label until the last of its own policies arrived. */
  ownPoliciesMs: number;
  ownPolicies: number;
  /** Deletions among its own policy events (a policy written, then pruned). */
  ownDeletes: number;
  writes: Map<string, number>;
  /** Reconciles the operator ran from the label until it settled (writes or not). */
  reconciles: number;
  /** Policy events in other namespaces between the label and the settled operator. */
  otherEvents: number;
  otherNamespaces: number;
}

interface Restart {
  readyMs: number;
  leadingMs: number;
  caughtUpMs: number;
  writes: Map<string, number>;
  peakMb: number;
  settledMb: number;
}

interface Rest {
  seconds: number;
  withOperator: Map<string, number>;
  floor: Map<string, number>;
  openWatches: Map<string, number>;
  watchRestarts: number;
}

interface SizeFigures {
  size: Size;
  policies: number;
  setup: { tenantsMs: number; namespacesMs: number; podsMs: number };
  readyMs: number;
  convergeMs: number;
  tenantsReadyMs: number;
  convergeWrites: Map<string, number>;
  convergeCpuSeconds: number;
  rssPeakMb: number;
  rssSettledMb: number;
  heapSettled: Heap;
  joins: Join[];
  restart: Restart;
  resync?: { writes: Map<string, number>; reconciles: number; waitedMs: number };
  rest?: Rest;
  logProblems: string[];
  exitCode: number | null;
}

// --- the size phase ----------------------------------------------------------------------

async function runAtSize(binaries: Binaries, size: Size, full: boolean): Promise<SizeFigures> {
  const plane = await startControlPlane({ binaries, log: progress });
  const logDir = mkdtempSync(join(tmpdir(), 'netfence-scale-'));
  const children: OperatorChild[] = [];
  const events = new PolicyEvents();
  try {
    const { admin } = await install(plane);
    const w = roundRobinWorkload('s-', size.namespaces, size.tenants);
    progress(`${describeSize(size)}: creating them (untimed, ${SETUP_WORKERS} workers)`);
    const setup = await populate(admin, w, size.pods);
    progress(`set up in ${ms(setup.tenantsMs + setup.namespacesMs + setup.podsMs)} (pods ${ms(setup.podsMs)})`);
    const expected = new Set(desiredPolicies(w, new Map()).map((p) => keyOf(p.metadata.namespace, p.metadata.name)));
    const keys = new Set([...expected].map((key) => key.split('/')[0])).size + size.tenants;
    await events.start(admin);

    const floor = full && REST_SECONDS > 0 ? await restCounts(plane, REST_SECONDS) : undefined;

    const converged = events.allOf(expected);
    const t0 = performance.now();
    const first = await startOperator(plane, join(logDir, 'operator-a.log'), 'netfence-bench-a');
    children.push(first);
    const cpu0 = cpuSecondsOf(first.pid);
    const before = await scrapeWhenUp(first);
    await raceExit(
      first,
      until('the operator answers /readyz 200', 600_000, async () => (await fetch(`http://127.0.0.1:${first.healthPort}/readyz`)).status === 200),
    );
    const readyMs = performance.now() - t0;
    progress(`ready after ${ms(readyMs)}; converging ${expected.size} policies`);
    const convergedAt = await raceExit(first, withTimeout(converged, CONVERGE_TIMEOUT_MS, 'convergence'));
    const convergeMs = convergedAt - t0;
    const convergeCpuSeconds = cpuSecondsOf(first.pid) - cpu0;
    progress(`converged after ${ms(convergeMs)}; waiting for every tenant to be Ready`);
    await raceExit(
      first,
      until('every TenantIsolation is Ready', 600_000, async () => (await readyTenants(admin)) === size.tenants, 1_000),
    );
    const tenantsReadyMs = performance.now() - t0;
    await raceExit(first, settle(first.metricsPort, 600_000));
    const afterConverge = await scrape(first.metricsPort);
    const convergeWrites = writesByVerb(before, afterConverge);
    const rssSettledMb = rssMb(first.pid, 'VmRSS');
    const heapSettled = heapOf(afterConverge);

    progress(`${JOINS} joins`);
    const joins: Join[] = [];
    for (let j = 0; j < JOINS; j++) {
      const tenant = w.tenants[Math.floor((j * size.tenants) / JOINS)] as string;
      joins.push(await raceExit(first, measureJoin(admin, events, first, `${w.prefix}join-${j}`, tenant)));
    }
    const rssPeakMb = rssMb(first.pid, 'VmHWM');

    progress('SIGKILL, then a replacement process');
    const logProblems = first.problems();
    await first.kill();
    const restart = await measureRestart(plane, join(logDir, 'operator-b.log'), keys + JOINS, children);
    const second = children.at(-1) as OperatorChild;

    let resync: SizeFigures['resync'];
    if (full) {
      progress(`waiting for a resync of the unchanged cluster (period ${RESYNC_PERIOD})`);
      const measured = await raceExit(second, measureResync(second.metricsPort, keys + JOINS, RESYNC_PERIOD));
      resync = { writes: measured.writes, reconciles: measured.reconciles, waitedMs: measured.waitedMs };
    }
    const rest = floor ? await raceExit(second, measureRest(plane, second, floor)) : undefined;
    logProblems.push(...second.problems());
    const exitCode = await second.stop();
    return {
      size,
      policies: expected.size,
      setup,
      readyMs,
      convergeMs,
      tenantsReadyMs,
      convergeWrites,
      convergeCpuSeconds,
      rssPeakMb,
      rssSettledMb,
      heapSettled,
      joins,
      restart,
      resync,
      rest,
      logProblems,
      exitCode,
    };
  } catch (error) {
    for (const child of children) process.stderr.write(`[bench] last lines of ${child.logFile}:\n${tail(child.logFile)}\n`);
    throw error;
  } finally {
    events.stop();
    for (const child of children) await child.stop();
    await plane.stop();
    if (!KEEP_LOGS) rmSync(logDir, { recursive: true, force: true });
    else progress(`operator logs in ${logDir}`);
  }
}

/** Tenants, then namespaces labelled into them and the ingress namespace, then pods. */
async function populate(admin: KubeClient, w: Workload, pods: number): Promise<SizeFigures['setup']> {
  const t0 = performance.now();
  await pool(w.tenants, SETUP_WORKERS, async (name) => {
    await admin.request<TenantIsolation>({
      method: 'PATCH',
      path: resourcePath(RESOURCES.tenantIsolations, { name }),
      query: { fieldManager: BENCH_MANAGER, force: true },
      contentType: APPLY,
      body: tenantObject(w, w.tenants.indexOf(name)),
    });
  });
  const t1 = performance.now();
  const tenantOf = new Map(w.namespaces.map((name, i) => [name, w.tenantOf(i)]));
  await createNamespaces(admin, [...w.namespaces, w.ingress], SETUP_WORKERS, (name): Record<string, string> => {
    const tenant = tenantOf.get(name);
    return tenant ? { [TENANT_LABEL]: tenant } : {};
  });
  const t2 = performance.now();
  if (pods > 0) await createPods(admin, w.namespaces, pods, SETUP_WORKERS);
  return { tenantsMs: t1 - t0, namespacesMs: t2 - t1, podsMs: performance.now() - t2 };
}

/**
 * `netfence run` with the Deployment's settings; `resyncPeriod` is the operator's default
 * but for the replacement process, which measures a resync (a short period at this size keeps
 * the queue full of resyncs and would slow every join measured meanwhile).
 */
function startOperator(plane: ControlPlane, logFile: string, identity: string, resyncPeriod = DEFAULT_RESYNC_PERIOD): Promise<OperatorChild> {
  return startOperatorChild(plane, {
    logFile,
    concurrency: CONCURRENCY,
    resyncPeriod,
    nodeOptions: NODE_OPTIONS,
    ...(LEADER_ELECT ? { identity } : {}),
    flags: MEMBER_LABEL ? ['--member-label', MEMBER_LABEL] : [],
  });
}

async function scrapeWhenUp(child: OperatorChild): Promise<Map<string, number>> {
  let metrics = new Map<string, number>();
  await until(
    'the operator serves /metrics',
    60_000,
    async () => {
      metrics = await scrape(child.metricsPort);
      return true;
    },
    50,
  );
  return metrics;
}

async function readyTenants(admin: KubeClient): Promise<number> {
  const list = await admin.request<{ items: TenantIsolation[] }>({ method: 'GET', path: resourcePath(RESOURCES.tenantIsolations), timeoutMs: 120_000 });
  return list.items.filter((t) => t.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
}

/**
 * A new namespace (created unlabelled, untimed) labelled into `tenant`: the time until its
 * default-deny arrives on the watch, the writes the operator made until it settled, and the
 * policy events in other namespaces meanwhile.
 */
async function measureJoin(admin: KubeClient, events: PolicyEvents, operator: OperatorChild, namespace: string, tenant: string): Promise<Join> {
  await createNamespaces(admin, [namespace], 1);
  await settle(operator.metricsPort, 120_000, 1_000);
  const before = await scrape(operator.metricsPort);
  const own: PolicyEvent[] = [];
  const others: PolicyEvent[] = [];
  const off = events.listen((event) => (event.namespace === namespace ? own : others).push(event));
  const deny = new Promise<number>((resolve) => {
    const stop = events.listen((event) => {
      if (event.namespace === namespace && event.name === POLICY_NAMES.defaultDeny && event.type !== 'DELETED') {
        stop();
        resolve(event.at);
      }
    });
  });
  const t0 = performance.now();
  await admin.request({
    method: 'PATCH',
    path: resourcePath(RESOURCES.namespaces, { name: namespace }),
    contentType: 'application/merge-patch+json',
    body: { metadata: { labels: { [TENANT_LABEL]: tenant } } },
  });
  // A deny later than JOIN_TIMEOUT_MS is a figure (Infinity, printed as a timeout), not a failure.
  const deniedAt = await raceExit(operator, Promise.race([deny, events.failed, sleep(JOIN_TIMEOUT_MS).then(() => Infinity)]));
  if (deniedAt === Infinity) progress(`no ${POLICY_NAMES.defaultDeny} in ${namespace} after ${ms(JOIN_TIMEOUT_MS)}`);
  await settle(operator.metricsPort, 120_000, 2_000);
  off();
  const after = await scrape(operator.metricsPort);
  const reconciles = (m: ReadonlyMap<string, number>) => sumOf(m, 'netfence_reconcile_duration_seconds_count');
  return {
    latencyMs: deniedAt - t0,
    ownPoliciesMs: own.length ? Math.max(...own.map((e) => e.at)) - t0 : Infinity,
    ownPolicies: new Set(own.map((e) => e.name)).size,
    ownDeletes: own.filter((e) => e.type === 'DELETED').length,
    writes: writesByVerb(before, after),
    reconciles: reconciles(after) - reconciles(before),
    otherEvents: others.length,
    otherNamespaces: new Set(others.map((e) => e.namespace)).size,
  };
}

/** A replacement operator (new identity, as a new Pod) after the first was SIGKILLed: until /readyz, leading, and one full pass done. */
async function measureRestart(plane: ControlPlane, logFile: string, keys: number, children: OperatorChild[]): Promise<Restart> {
  const t0 = performance.now();
  const child = await startOperator(plane, logFile, 'netfence-bench-b', RESYNC_PERIOD);
  children.push(child);
  return raceExit(child, replacementFigures(child, t0, keys));
}

async function replacementFigures(child: OperatorChild, t0: number, keys: number): Promise<Restart> {
  await until('the replacement answers /readyz 200', 600_000, async () => (await fetch(`http://127.0.0.1:${child.healthPort}/readyz`)).status === 200, 100);
  const readyMs = performance.now() - t0;
  await until('the replacement leads', 600_000, async () => (await scrape(child.metricsPort)).get('netfence_leader') === 1, 100);
  const leadingMs = performance.now() - t0;
  await until(
    'the replacement has reconciled every key once',
    600_000,
    async () => {
      const m = await scrape(child.metricsPort);
      return sumOf(m, 'netfence_reconcile_duration_seconds_count') >= keys && (m.get('netfence_queue_depth') ?? 0) === 0;
    },
    100,
  );
  const caughtUpMs = performance.now() - t0;
  await settle(child.metricsPort, 300_000);
  const writes = writesByVerb(new Map(), await scrape(child.metricsPort));
  return { readyMs, leadingMs, caughtUpMs, writes, peakMb: rssMb(child.pid, 'VmHWM'), settledMb: rssMb(child.pid, 'VmRSS') };
}

// --- LIST and WATCH at rest ------------------------------------------------------------------

/** apiserver_request_total for LIST and WATCH, by `VERB resource`, plus open watches by resource (`open resource`). */
function listWatchCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(apiserver_request_total|apiserver_longrunning_requests)\{([^}]*)\} ([0-9.e+-]+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] as string).matchAll(/(\w+)="([^"]*)"/g)].map((l): [string, string] => [l[1] ?? '', l[2] ?? '']));
    if (labels['verb'] !== 'LIST' && labels['verb'] !== 'WATCH') continue;
    const key = m[1] === 'apiserver_request_total' ? `${labels['verb']} ${labels['resource']}` : `open ${labels['resource']}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(m[3]));
  }
  return counts;
}

/** LIST and WATCH requests the API server finished over `seconds`, by `VERB resource`. */
async function restCounts(plane: ControlPlane, seconds: number): Promise<Map<string, number>> {
  progress(`${seconds} s at rest`);
  const before = listWatchCounts(await apiserverMetrics(plane.adminKubeconfig));
  await sleep(seconds * 1000);
  const after = listWatchCounts(await apiserverMetrics(plane.adminKubeconfig));
  if (![...after.keys()].some((key) => key.startsWith('LIST '))) throw new Error("no LIST series of apiserver_request_total in the API server's /metrics");
  const delta = new Map<string, number>();
  for (const [key, value] of after) {
    if (key.startsWith('open ')) continue;
    const d = value - (before.get(key) ?? 0);
    if (d !== 0) delta.set(key, d);
  }
  return delta;
}

async function measureRest(plane: ControlPlane, operator: OperatorChild, floor: Map<string, number>): Promise<Rest> {
  await settle(operator.metricsPort);
  const before = await scrape(operator.metricsPort);
  const withOperator = await restCounts(plane, REST_SECONDS);
  const restarts = sumOf(await scrape(operator.metricsPort), 'netfence_watch_restarts_total') - sumOf(before, 'netfence_watch_restarts_total');
  const open = new Map([...listWatchCounts(await apiserverMetrics(plane.adminKubeconfig))].filter(([key, n]) => key.startsWith('open ') && n > 0));
  return { seconds: REST_SECONDS, withOperator, floor, openWatches: open, watchRestarts: restarts };
}

// --- joins against tenant size ----------------------------------------------------------------

interface SizesFigures {
  namespaces: number;
  convergeMs: number;
  rssSettledMb: number;
  rssPeakMb: number;
  heapSettled: Heap;
  bySize: { members: number; joins: Join[] }[];
  logProblems: string[];
  exitCode: number | null;
}

/** One tenant per size, joined by label; each tenant's peers are its neighbours in that list. */
function sizedWorkload(prefix: string, sizes: readonly number[]): Workload {
  const tenants = sizes.map((members) => `${prefix}tenant-${members}`);
  const owner: string[] = [];
  const namespaces: string[] = [];
  sizes.forEach((members, t) => {
    for (let i = 0; i < members; i++) {
      namespaces.push(`${prefix}t${members}-ns-${i}`);
      owner.push(tenants[t] as string);
    }
  });
  return { prefix, namespaces, ingress: `${prefix}ingress`, tenants, tenantOf: (i) => owner[i] as string };
}

async function runJoinSizes(binaries: Binaries): Promise<SizesFigures> {
  const plane = await startControlPlane({ binaries, log: progress });
  const logDir = mkdtempSync(join(tmpdir(), 'netfence-scale-'));
  const events = new PolicyEvents();
  let operator: OperatorChild | undefined;
  try {
    const { admin } = await install(plane);
    const w = sizedWorkload('z-', JOIN_SIZES);
    progress(`tenants of ${JOIN_SIZES.join(', ')} members (${w.namespaces.length} namespaces): creating them (untimed)`);
    await populate(admin, w, 0);
    const expected = new Set(desiredPolicies(w, new Map()).map((p) => keyOf(p.metadata.namespace, p.metadata.name)));
    await events.start(admin);
    const converged = events.allOf(expected);
    const t0 = performance.now();
    operator = await startOperator(plane, join(logDir, 'operator.log'), 'netfence-bench-z');
    const convergeMs = (await raceExit(operator, withTimeout(converged, CONVERGE_TIMEOUT_MS, 'convergence'))) - t0;
    progress(`converged after ${ms(convergeMs)}`);
    const running = operator;
    await raceExit(
      running,
      until('every TenantIsolation is Ready', 600_000, async () => (await readyTenants(admin)) === w.tenants.length, 1_000),
    );
    await raceExit(running, settle(running.metricsPort, 600_000));
    const rssSettledMb = rssMb(operator.pid, 'VmRSS');
    const heapSettled = heapOf(await scrape(operator.metricsPort));
    const bySize: SizesFigures['bySize'] = [];
    for (const [t, members] of JOIN_SIZES.entries()) {
      progress(`${JOINS} joins into the tenant of ${members}`);
      const joins: Join[] = [];
      for (let j = 0; j < JOINS; j++) joins.push(await raceExit(running, measureJoin(admin, events, running, `${w.prefix}t${members}-join-${j}`, w.tenants[t] as string)));
      bySize.push({ members, joins });
    }
    const rssPeakMb = rssMb(operator.pid, 'VmHWM');
    const logProblems = operator.problems();
    const exitCode = await operator.stop();
    return { namespaces: w.namespaces.length, convergeMs, rssSettledMb, rssPeakMb, heapSettled, bySize, logProblems, exitCode };
  } catch (error) {
    if (operator) process.stderr.write(`[bench] last lines of ${operator.logFile}:\n${tail(operator.logFile)}\n`);
    throw error;
  } finally {
    events.stop();
    await operator?.stop();
    await plane.stop();
    if (!KEEP_LOGS) rmSync(logDir, { recursive: true, force: true });
  }
}

// --- small helpers -------------------------------------------------------------------------

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: nothing after ${ms(timeoutMs)}`)), timeoutMs).unref())]);
}

/** `promise`, unless the operator exits first: then an error naming its exit code and its last error log line. */
function raceExit<T>(operator: OperatorChild, promise: Promise<T>): Promise<T> {
  const exit = operator.exited.then((code) =>
    Promise.reject(
      new Error(
        `the operator exited (code ${code}) unasked; its last error: ${
          operator
            .problems()
            .filter((line) => line.includes('"error"'))
            .at(-1) ?? 'none logged'
        }`,
      ),
    ),
  );
  exit.catch(() => undefined);
  return Promise.race([promise, exit]);
}

/** Nearest-rank percentile of sorted values. */
const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;

function spread(values: readonly number[], format: (n: number) => string): string {
  const sorted = [...values].sort((a, b) => a - b);
  const late = (n: number) => (n === Infinity ? `> ${ms(JOIN_TIMEOUT_MS)} (none within)` : format(n));
  return `min ${late(sorted[0] ?? NaN)}, median ${late(percentile(sorted, 50))}, p90 ${late(percentile(sorted, 90))}, max ${late(sorted.at(-1) ?? NaN)}`;
}

function describeJoins(joins: readonly Join[], indent: string): string[] {
  const writes = joins.map((j) => totalOf(j.writes));
  const verbs = new Map<string, number>();
  for (const j of joins) for (const [verb, n] of j.writes) verbs.set(verb, (verbs.get(verb) ?? 0) + n);
  const others = joins.map((j) => j.otherNamespaces);
  return [
    `${indent}label -> its ${POLICY_NAMES.defaultDeny} seen: ${spread(
      joins.map((j) => j.latencyMs),
      ms,
    )} (goal < 1 s)`,
    `${indent}label -> all ${joins[0]?.ownPolicies ?? 0} of its own policies seen: ${spread(
      joins.map((j) => j.ownPoliciesMs),
      ms,
    )}; own policies deleted again meanwhile: ${joins.reduce((s, j) => s + j.ownDeletes, 0)} in all`,
    `${indent}operator writes per join: ${spread(writes, String)}; all ${joins.length} joins: ${describeWrites(verbs)}`,
    `${indent}operator reconciles per join (most write nothing): ${spread(
      joins.map((j) => j.reconciles),
      String,
    )}`,
    `${indent}other namespaces whose policies changed per join: ${spread(others, String)} (${joins.reduce((s, j) => s + j.otherEvents, 0)} policy events in all)`,
  ];
}

const median = (values: readonly number[]): number =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

function describeRest(rest: Rest): string[] {
  const verbTotal = (counts: ReadonlyMap<string, number>, verb: string) => [...counts].filter(([key]) => key.startsWith(`${verb} `)).reduce((s, [, n]) => s + n, 0);
  const perMinute = (n: number) => ((n * 60) / rest.seconds).toFixed(1);
  const byResource = (counts: ReadonlyMap<string, number>) =>
    [...counts]
      .sort()
      .map(([key, n]) => `${key} ${n}`)
      .join(', ') || 'none';
  return [
    `LIST and WATCH at rest (API server's apiserver_request_total, finished requests, ${rest.seconds} s windows):`,
    `  with the operator: LIST ${perMinute(verbTotal(rest.withOperator, 'LIST'))}/min, WATCH ${perMinute(verbTotal(rest.withOperator, 'WATCH'))}/min (${byResource(rest.withOperator)})`,
    `  floor, before the operator started: LIST ${perMinute(verbTotal(rest.floor, 'LIST'))}/min, WATCH ${perMinute(verbTotal(rest.floor, 'WATCH'))}/min (${byResource(rest.floor)})`,
    `  operator watch restarts meanwhile (netfence_watch_restarts_total): ${rest.watchRestarts}; watches open at the end (the bench's own policy watch included): ${byResource(rest.openWatches)}`,
  ];
}

function describeSizeRun(f: SizeFigures): string[] {
  const lines = [
    `at ${describeSize(f.size)} (${f.policies} policies; set up untimed in ${ms(f.setup.tenantsMs + f.setup.namespacesMs + f.setup.podsMs)}: pods ${ms(f.setup.podsMs)})`,
    `  converge from start: ${ms(f.convergeMs)} until a watch had seen every expected policy (/readyz 200 after ${ms(f.readyMs)}; every tenant Ready after ${ms(f.tenantsReadyMs)})`,
    `    writes until settled ${describeWrites(f.convergeWrites)}; operator CPU until converged ${f.convergeCpuSeconds.toFixed(1)} s`,
    `  operator RSS: peak (VmHWM, through converge and joins) ${mb(f.rssPeakMb)} (goal < 300 MB at full size), settled after converging ${mb(f.rssSettledMb)}; ${describeHeap(f.heapSettled)}`,
    `  ${f.joins.length} joins into existing tenants of ${Math.round(f.size.namespaces / f.size.tenants)} members:`,
    ...describeJoins(f.joins, '    '),
    `  restart (SIGKILL, then a replacement with a new identity, as a new Pod): /readyz 200 after ${ms(f.restart.readyMs)} (goal < 60 s), leading after ${ms(f.restart.leadingMs)}${LEADER_ELECT ? " (includes waiting out the killed holder's 15 s lease)" : ''}, every key reconciled once after ${ms(f.restart.caughtUpMs)}`,
    `    its writes until settled ${describeWrites(f.restart.writes)}; its RSS peak ${mb(f.restart.peakMb)}, settled ${mb(f.restart.settledMb)}`,
  ];
  if (f.resync)
    lines.push(
      `  resync of the unchanged cluster (--resync-period ${RESYNC_PERIOD}; waited ${ms(f.resync.waitedMs)}): ${f.resync.reconciles} reconciles, ${describeWrites(f.resync.writes)} writes (goal 0)`,
    );
  if (f.rest) lines.push(...describeRest(f.rest).map((line) => `  ${line}`));
  lines.push(`  operator exit code ${f.exitCode} after SIGTERM; ${f.logProblems.length} warn/error log lines${f.logProblems.length ? `, first: ${f.logProblems[0]}` : ''}`);
  return lines;
}

function describeGrowth(base: SizeFigures, top: SizeFigures): string[] {
  const ratio = (a: number, b: number) => `${(b / a).toFixed(2)}x`;
  const row = (what: string, a: number, b: number, format: (n: number) => string) => `  ${what}: ${format(a)} -> ${format(b)} (${ratio(a, b)})`;
  return [
    `growth from ${describeSize(base.size)} to ${describeSize(top.size)} (${ratio(base.size.namespaces, top.size.namespaces)} the namespaces):`,
    row('converge from start', base.convergeMs, top.convergeMs, ms),
    row('RSS peak', base.rssPeakMb, top.rssPeakMb, mb),
    row('RSS settled', base.rssSettledMb, top.rssSettledMb, mb),
    row('V8 heap used, settled', base.heapSettled.usedMb, top.heapSettled.usedMb, mb),
    row('join latency, median', median(base.joins.map((j) => j.latencyMs)), median(top.joins.map((j) => j.latencyMs)), ms),
    row('restart to /readyz', base.restart.readyMs, top.restart.readyMs, ms),
    row('restart to caught up', base.restart.caughtUpMs, top.restart.caughtUpMs, ms),
  ];
}

function describeSizes(f: SizesFigures): string[] {
  return [
    `joins against tenant size (a control plane of its own: tenants of ${JOIN_SIZES.join(', ')} members, ${f.namespaces} namespaces, no pods):`,
    `  converged from start in ${ms(f.convergeMs)}; operator RSS settled ${mb(f.rssSettledMb)}, peak ${mb(f.rssPeakMb)}; ${describeHeap(f.heapSettled)}`,
    ...f.bySize.flatMap(({ members, joins }) => [`  tenant of ${members}:`, ...describeJoins(joins, '    ')]),
    `  operator exit code ${f.exitCode} after SIGTERM; ${f.logProblems.length} warn/error log lines${f.logProblems.length ? `, first: ${f.logProblems[0]}` : ''}`,
  ];
}

// --- main ----------------------------------------------------------------------------------

/** The requested size, else halves of it down to the base size: the largest one this machine holds. */
async function largestSize(binaries: Binaries, notes: string[]): Promise<SizeFigures> {
  let size: Size = { namespaces: NAMESPACES, tenants: TENANTS, pods: PODS };
  for (;;) {
    try {
      return await runAtSize(binaries, size, true);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const smaller = { namespaces: Math.floor(size.namespaces / 2), tenants: Math.max(1, Math.floor(size.tenants / 2)), pods: Math.floor(size.pods / 2) };
      if (smaller.namespaces < Math.max(BASE_NAMESPACES, 1)) throw error;
      notes.push(`this machine could not hold ${describeSize(size)}: ${reason.split('\n')[0]}; trying ${describeSize(smaller)}`);
      progress(notes.at(-1) as string);
      size = smaller;
    }
  }
}

async function main(): Promise<void> {
  const binaries = await provideBinaries({ log: progress });
  if (isUnavailable(binaries)) throw new Error(`no control plane: ${binaries.unavailable}`);
  const lines = [
    `bench/scale: kube-apiserver and etcd on loopback; ${availableParallelism()} CPUs shared by them, the operator and the bench`,
    `operator: \`netfence run\` as a child process, NODE_OPTIONS="${NODE_OPTIONS}" (config/manager), the operator's RBAC identity, leader election ${LEADER_ELECT ? 'on' : 'off'}, --concurrency ${CONCURRENCY}${MEMBER_LABEL ? `, --member-label ${MEMBER_LABEL}` : ''}`,
  ];
  // Each phase prints as soon as it is done: a later failure keeps the figures of the earlier ones.
  const print = (more: readonly string[]) => console.log([...more, ''].join('\n'));
  print(lines);
  let failed = false;
  if (PHASES.has('size')) {
    const notes: string[] = [];
    const top = await largestSize(binaries, notes);
    print([...notes, ...describeSizeRun(top)]);
    failed ||= top.exitCode !== 0;
    if (BASE_NAMESPACES > 0 && BASE_NAMESPACES < top.size.namespaces) {
      const k = BASE_NAMESPACES / top.size.namespaces;
      const base = await runAtSize(binaries, { namespaces: BASE_NAMESPACES, tenants: Math.max(1, Math.round(top.size.tenants * k)), pods: Math.round(top.size.pods * k) }, false);
      print([...describeSizeRun(base), '', ...describeGrowth(base, top)]);
      failed ||= base.exitCode !== 0;
    }
  }
  if (PHASES.has('sizes')) {
    const sizes = await runJoinSizes(binaries);
    print(describeSizes(sizes));
    failed ||= sizes.exitCode !== 0;
  }
  if (failed) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/scale failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
