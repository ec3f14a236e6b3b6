/**
 * bench/event-loop: how long one plan of a big cluster blocks the operator's event loop, in
 * process, with the Deployment's NODE_OPTIONS (read from config/manager/manager.yaml; the bench
 * runs itself again as a child process with them).
 *
 * The world is bench:scale's workload (BENCH_NAMESPACES namespaces dealt to BENCH_TENANTS
 * tenants by label, every tenant with peers, a CIDR and an exposure), BENCH_PODS pods of which
 * one in five carries the `web` expose label and one in a hundred an undeclared one (the
 * pod-label warnings), and the managed policies as the policy cache would hold them, all kept
 * in memory as the operator's caches keep them. The Planner reads them as the Operator does.
 * Two runs of BENCH_PLANS plans each (the first one cold, then one after each change: a
 * namespace moved to another tenant), each under `perf_hooks.monitorEventLoopDelay`:
 * 1. the floor: `planNow()`, the whole plan in one go (compile and digests, as every plan ran
 *    before plans were sliced);
 * 2. sliced: `planSliced()` for the first plan, `markDirty()` for the others, as the Operator
 *    plans.
 * Prints, per run: event-loop delay max and p99, the longest turn of the loop (between two
 * callbacks of a setImmediate chain), the longest GC pause, plan wall time (read to
 * completion, what netfence_plan_duration_seconds observes) and busy time; and the cost of the
 * pod-label warnings (compile with the pods minus compile without). Asserts nothing.
 * Run: `npm run bench:event-loop` (knobs: BENCH_NAMESPACES 10000, BENCH_TENANTS 1000,
 * BENCH_PODS 150000, BENCH_PLANS 5, BENCH_SLICE_MS 10; BENCH_NODE_OPTIONS replaces the
 * Deployment's flags).
 * Leaves out: the API server, the informers' own work (decoding watch events), the
 * reconcilers; bench:scale runs all of that.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks';
import { API_VERSION, EXPOSE_LABEL_PREFIX, KIND, TENANT_LABEL } from '../src/api/constants.js';
import type { Namespace, NetworkPolicy } from '../src/api/k8s.js';
import type { TenantIsolation } from '../src/api/types.js';
import { compile, type CompileInput, type PodLabels } from '../src/compiler/compile.js';
import { defaultSettings } from '../src/compiler/settings.js';
import { deepFreeze } from '../src/core/objects.js';
import { Planner, type Plan } from '../src/controller/planner.js';

const knob = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const NAMESPACES = knob('BENCH_NAMESPACES', 10_000);
const TENANTS = knob('BENCH_TENANTS', 1_000);
const PODS = knob('BENCH_PODS', 150_000);
const PLANS = knob('BENCH_PLANS', 5);
const SLICE_MS = knob('BENCH_SLICE_MS', 10);
const CHILD = 'NETFENCE_BENCH_EVENT_LOOP_CHILD';

const ms = (v: number): string => `${v.toFixed(1)} ms`;
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const turn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 50));

/**
 * bench:scale's workload (bench/apiserver-support's roundRobinWorkload and tenantObject, not
 * imported: that module loads a Kubernetes client the operator does not, 25 MB of heap).
 */
function workload() {
  const tenantNames = Array.from({ length: TENANTS }, (_, t) => `bench-tenant-${t}`);
  const ingress = 'bench-ingress';
  const tenantObject = (t: number): TenantIsolation => ({
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: tenantNames[t] as string, uid: `uid-${t}`, generation: 1 },
    spec: {
      ingress: {
        from: [
          { tenant: tenantNames[(t + 1) % TENANTS], ports: [{ port: 8080 }] },
          { namespaces: [ingress], ports: [{ port: 443 }] },
        ],
      },
      egress: {
        to: [
          { tenant: tenantNames[(t + TENANTS - 1) % TENANTS], ports: [{ port: 8080 }] },
          { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'], ports: [{ port: 443 }] },
        ],
      },
      exposures: [{ name: 'web', from: [{ namespaces: [ingress] }], ports: [{ port: 8080 }] }],
    },
  });
  return {
    namespaces: Array.from({ length: NAMESPACES }, (_, i) => `bench-ns-${i}`),
    ingress,
    tenants: tenantNames,
    tenantOf: (i: number) => tenantNames[i % TENANTS] as string,
    tenantObject,
  };
}

/** The caches of an operator watching bench:scale's workload, as plain maps. */
function world() {
  const w = workload();
  const settings = deepFreeze(defaultSettings('netfence-system'));
  const tenants = new Map<string, TenantIsolation>(w.tenants.map((name, t) => [name, deepFreeze(w.tenantObject(t))]));
  const nsObject = (name: string, tenant: string | undefined, i: number): Namespace => {
    const labels: Record<string, string> = tenant === undefined ? {} : { [TENANT_LABEL]: tenant };
    return deepFreeze({ metadata: { name, uid: `ns-uid-${i}`, resourceVersion: `${i}`, labels } });
  };
  const namespaces = new Map<string, Namespace>(w.namespaces.map((name, i) => [name, nsObject(name, w.tenantOf(i), i)]));
  namespaces.set(w.ingress, nsObject(w.ingress, undefined, NAMESPACES));
  // Pods as the trimmed pod cache holds them: only the expose labels kept.
  const pods = new Map<string, { metadata: PodLabels }>();
  for (let p = 0; p < PODS; p++) {
    const namespace = w.namespaces[p % NAMESPACES] as string;
    const exposure = p % 100 === 0 ? 'undeclared' : p % 5 === 0 ? 'web' : undefined;
    const metadata: PodLabels = { namespace, name: `pod-${p}` };
    if (exposure !== undefined) metadata.labels = { [`${EXPOSE_LABEL_PREFIX}${exposure}`]: 'true' };
    pods.set(`${namespace}/pod-${p}`, deepFreeze({ metadata }));
  }
  const read = (): CompileInput => {
    const exposed: PodLabels[] = [];
    for (const p of pods.values()) if (p.metadata.labels !== undefined) exposed.push(p.metadata);
    return { tenants: [...tenants.values()], namespaces: [...namespaces.values()], pods: exposed, settings };
  };
  // The policy cache: every desired policy with its own metadata, sharing the parts (as the interner does).
  const live = new Map<string, NetworkPolicy>();
  for (const p of compile(read()).policies) {
    const m = p.metadata;
    live.set(`${m.namespace}/${m.name}`, Object.freeze({ ...p, metadata: Object.freeze({ ...m, uid: `${m.namespace}-${m.name}`, resourceVersion: '1' }) }));
  }
  let moves = 0;
  /** A namespace moves to the next tenant (a relabel): two tenants and one namespace change. */
  const change = (): void => {
    const i = (moves++ * 7919) % NAMESPACES;
    const name = w.namespaces[i] as string;
    namespaces.set(name, nsObject(name, w.tenants[(i + moves) % TENANTS], i));
  };
  return { read, change, live, pods, namespaces, tenants };
}

interface RunFigures {
  /** The longest turn of the event loop: the most time between two callbacks of a setImmediate chain. */
  turnMax: number;
  delayMax: number;
  delayP99: number;
  gcMax: number;
  wall: number[];
  busy: number[];
}

async function measure(label: string, body: () => Promise<Plan[]>): Promise<RunFigures> {
  let gcMax = 0;
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMax = Math.max(gcMax, e.duration);
  });
  gc.observe({ entryTypes: ['gc'] });
  const delay = monitorEventLoopDelay({ resolution: 5 });
  await turn();
  delay.enable();
  let turnMax = 0;
  let last = performance.now();
  let pinging = true;
  const ping = (): void => {
    const now = performance.now();
    turnMax = Math.max(turnMax, now - last);
    last = now;
    if (pinging) setImmediate(ping);
  };
  setImmediate(ping);
  const plans = await body();
  await turn();
  pinging = false;
  delay.disable();
  gc.disconnect();
  const figures = { turnMax, delayMax: delay.max / 1e6, delayP99: delay.percentile(99) / 1e6, gcMax, wall: plans.map((p) => p.durationMs), busy: plans.map((p) => p.busyMs) };
  process.stdout.write(
    `${label}: event-loop delay max ${ms(figures.delayMax)}, p99 ${ms(figures.delayP99)}; longest turn ${ms(turnMax)}; longest GC pause ${ms(gcMax)}; ` +
      `plan wall time median ${ms(median(figures.wall))} (first ${ms(figures.wall[0] ?? NaN)}, max ${ms(Math.max(...figures.wall))}), ` +
      `busy median ${ms(median(figures.busy))} (max ${ms(Math.max(...figures.busy))}); ${plans.length} plans, ${plans.at(-1)?.result.policies.length ?? 0} policies\n`,
  );
  return figures;
}

async function child(): Promise<void> {
  // The operator's modules, so the heap holds what the operator's holds before its caches.
  await import('../src/cli/run.js');
  const setupStart = performance.now();
  const w = world();
  const input = w.read();
  process.stdout.write(
    `world: ${w.namespaces.size} namespaces, ${w.tenants.size} tenants, ${w.pods.size} pods (${input.pods?.length ?? 0} with expose labels), ` +
      `${w.live.size} live policies; built in ${ms(performance.now() - setupStart)}; NODE_OPTIONS=${process.env.NODE_OPTIONS ?? ''}\n`,
  );

  // The pod-label warnings' share of a compile.
  const withPods: number[] = [];
  const withoutPods: number[] = [];
  for (let i = 0; i < 3; i++) {
    let t = performance.now();
    compile(input);
    withPods.push(performance.now() - t);
    t = performance.now();
    compile({ ...input, pods: [] });
    withoutPods.push(performance.now() - t);
    await turn();
  }
  process.stdout.write(
    `compile in one go: median ${ms(median(withPods))} with the pods, ${ms(median(withoutPods))} without (pod-label warnings ${ms(median(withPods) - median(withoutPods))})\n`,
  );

  let floorPlanner: Planner | undefined = new Planner({ read: w.read, onPlan: () => undefined });
  const floor = await measure('floor (planNow, whole plan in one go)', async () => {
    const plans: Plan[] = [];
    for (let i = 0; i < PLANS; i++) {
      if (i > 0) w.change();
      // From a timer, as a plan runs in the operator.
      const plan = await new Promise<Plan | undefined>((resolve) => setTimeout(() => resolve(floorPlanner?.planNow()), 20));
      if (plan) plans.push(plan);
      await turn();
    }
    return plans;
  });
  floorPlanner.stop();
  floorPlanner = undefined;
  await turn();

  let next: ((plan: Plan) => void) | undefined;
  const planner = new Planner({ read: w.read, onPlan: (plan) => next?.(plan), sliceMs: SLICE_MS });
  const sliced = await measure(`sliced (planSliced, then markDirty; slices of ${SLICE_MS} ms)`, async () => {
    const plans: Plan[] = [];
    const first = await planner.planSliced();
    if (first) plans.push(first);
    for (let i = 1; i < PLANS; i++) {
      await turn();
      w.change();
      const planned = new Promise<Plan>((resolve) => (next = resolve));
      planner.markDirty();
      plans.push(await planned);
    }
    return plans;
  });
  planner.stop();
  process.stdout.write(
    `event-loop stall (delay max / longest turn): ${ms(sliced.delayMax)} / ${ms(sliced.turnMax)} sliced against ${ms(floor.delayMax)} / ${ms(floor.turnMax)} in one go (goal under 100 ms); ` +
      `plan wall time ${ms(median(sliced.wall))} against ${ms(median(floor.wall))}\n`,
  );
}

async function parent(): Promise<void> {
  const { deploymentNodeOptions } = await import('../test/integration/support/image.js');
  // dist/bench/event-loop.js: the repository is two folders up.
  const nodeOptions = process.env.BENCH_NODE_OPTIONS ?? deploymentNodeOptions(fileURLToPath(new URL('../..', import.meta.url)));
  const script = fileURLToPath(import.meta.url);
  const proc = spawn(process.execPath, [script], { stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: nodeOptions, [CHILD]: '1' } });
  const code = await new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
  process.exitCode = code ?? 1;
}

(process.env[CHILD] === '1' ? child() : parent()).catch((error: unknown) => {
  process.stderr.write(`bench:event-loop: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
