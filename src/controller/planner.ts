/**
 * The planner turns the cached world into a Plan (the compiler's output, indexed by
 * namespace) and tells the queue which keys a new plan changed.
 *
 * Guarantees: a plan is a pure function of one consistent read of the caches; plans come in
 * order; after `markDirty` a new plan follows within `max(minIntervalMs, 3 x the last plan's
 * busy time)`, so bursts of events (a thousand namespaces labelled in a second) cost a
 * handful of compiles, not one per event, and compiling never takes more than about a
 * quarter of the CPU. Keys are reported when their desired state changed, plus every key on
 * the first plan.
 * - Consecutive plans share what did not change (policy objects, per-namespace maps, digests),
 *   so a new plan costs memory and hashing for what changed, not for the whole cluster.
 * - Never blocks the event loop for long: a plan after `markDirty` or `planSliced` reads the
 *   caches once, then compiles and digests in slices of about `sliceMs` (default 10 ms) with a
 *   `setImmediate` between two slices, so timers, I/O and probes run in between. Changes
 *   during a sliced plan mark it dirty and another plan follows it. `planNow` does the same
 *   work in one go (tests, tools) and supersedes a sliced plan still running, whose result is
 *   then dropped.
 * Assumes: `read` returns the caches as they are now (it runs synchronously), and objects it
 * returns are never changed in place (the caches replace objects, never edit them).
 * Leaves out: writing anything; reconcilers compare the plan with the live policies.
 */
import { createHash } from 'node:crypto';
import type { NetworkPolicy } from '../api/k8s.js';
import type { CompileInput, CompileResult, Steps, TenantResult } from '../compiler/compile.js';
import { CompileCache, compileSteps, STEP } from '../compiler/compile.js';

export interface Plan {
  /** 1, 2, 3...: later plans have larger numbers. */
  readonly seq: number;
  readonly result: CompileResult;
  /** namespace -> policy name -> the policy netfence maintains there (Enforce tenants and conflicts). */
  readonly desired: ReadonlyMap<string, ReadonlyMap<string, NetworkPolicy>>;
  readonly tenants: ReadonlyMap<string, TenantResult>;
  /**
   * namespace -> the value of MEMBER_LABEL it must carry (every member of every tenant), when
   * the settings select members by label (`labelsMembers`); every other namespace must not carry it.
   */
  readonly memberOf: ReadonlyMap<string, string>;
  readonly labelsMembers: boolean;
  /** namespace -> the tenants that claim it (one, or several when in conflict). */
  readonly claimants: ReadonlyMap<string, readonly string[]>;
  /** The metadata.generation of each tenant the plan was computed from. */
  readonly generations: ReadonlyMap<string, number | undefined>;
  /** Wall time from the read of the caches to the plan's completion, slices and the gaps between them. */
  readonly durationMs: number;
  /** Time spent planning, the gaps between slices left out. */
  readonly busyMs: number;
}

export interface PlanChanges {
  namespaces: string[];
  tenants: string[];
}

export interface PlannerOptions {
  read: () => CompileInput;
  onPlan: (plan: Plan, changes: PlanChanges) => void;
  /** Fewest milliseconds between two compiles. Default 20. */
  minIntervalMs?: number;
  /** Longest a slice of a sliced plan runs before it lets the event loop turn. Default 10. */
  sliceMs?: number;
  /** Called when compiling throws (a bug: the compiler reports bad input as results). */
  onError?: (error: unknown) => void;
}

/** A plan computed but not yet published: what `commit` needs. */
interface Draft {
  /** Which read of the caches it was computed from: 1, 2, 3... */
  read: number;
  input: CompileInput;
  result: CompileResult;
  desired: Map<string, Map<string, NetworkPolicy>>;
  tenants: Map<string, TenantResult>;
  memberOf: Map<string, string>;
  claimants: Map<string, string[]>;
  generations: Map<string, number | undefined>;
  nsDigests: Map<string, string>;
  tenantDigests: Map<string, string>;
}

/** A plan in progress. */
interface Run {
  steps: Steps<Draft>;
  started: number;
  busyMs: number;
}

const EMPTY: ReadonlyMap<string, NetworkPolicy> = new Map();
const RETRY_AFTER_ERROR_MS = 1000;

export class Planner {
  private plan: Plan | undefined;
  private nsDigests = new Map<string, string>();
  private tenantDigests = new Map<string, string>();
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private lastEnd = -Infinity;
  private stopped = false;
  private running: Run | undefined;
  private reads = 0;
  private readonly cache = new CompileCache((namespace, name) => this.plan?.desired.get(namespace)?.get(name));
  /** JSON of frozen policy parts, shared across plans through the compile cache. */
  private readonly json = partsJson();
  /** Callers of `planSliced` waiting for a plan from a read after `reads` was `after`. */
  private waiting: { after: number; resolve: (plan: Plan | undefined) => void }[] = [];
  private readonly minIntervalMs: number;
  private readonly sliceMs: number;

  constructor(private readonly options: PlannerOptions) {
    this.minIntervalMs = options.minIntervalMs ?? 20;
    this.sliceMs = options.sliceMs ?? 10;
  }

  get current(): Plan | undefined {
    return this.plan;
  }

  /** A sliced plan has read the caches and not finished yet. */
  get planning(): boolean {
    return this.running !== undefined;
  }

  desiredIn(namespace: string): ReadonlyMap<string, NetworkPolicy> {
    return this.plan?.desired.get(namespace) ?? EMPTY;
  }

  /** Something the plan depends on changed: plan again soon (in slices). */
  markDirty(): void {
    if (this.stopped) return;
    this.dirty = true;
    // A running plan read the caches before this change: when it ends, it schedules the next.
    if (this.timer !== undefined || this.running !== undefined) return;
    this.schedule(Math.max(this.minIntervalMs, 3 * (this.plan?.busyMs ?? 0)));
  }

  /**
   * A plan from a read made after this call, in slices: starts one now, or after the sliced
   * plan already running. Resolves with it, or with the last plan when planning fails or the
   * planner stops.
   */
  planSliced(): Promise<Plan | undefined> {
    if (this.stopped) return Promise.resolve(this.plan);
    const after = this.reads;
    const done = new Promise<Plan | undefined>((resolve) => this.waiting.push({ after, resolve }));
    this.dirty = true;
    if (this.running === undefined) {
      this.clearTimer();
      this.startRun();
    }
    return done;
  }

  /** Compiles at once, in one go (tests, and tools that can block). Supersedes a sliced plan in progress. */
  planNow(): Plan | undefined {
    if (this.stopped) return this.plan;
    this.running = undefined;
    this.dirty = false;
    const run = this.newRun();
    let draft: Draft | undefined;
    try {
      draft = advance(run, Infinity);
    } catch (error) {
      this.failed(error);
      return this.plan;
    }
    run.busyMs = performance.now() - run.started;
    return this.commit(draft as Draft, run);
  }

  stop(): void {
    this.stopped = true;
    this.running = undefined;
    this.clearTimer();
    this.release();
  }

  private newRun(): Run {
    return { steps: this.steps(), started: performance.now(), busyMs: 0 };
  }

  private schedule(wait: number): void {
    const delay = Math.max(0, this.lastEnd + wait - performance.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.dirty && this.running === undefined) this.startRun();
    }, delay);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Starts a sliced plan; its first slice (the read included) runs now. */
  private startRun(): void {
    if (this.stopped) return;
    this.dirty = false;
    const run = this.newRun();
    this.running = run;
    this.slice(run);
  }

  private slice(run: Run): void {
    // Superseded by planNow, or stopped: drop it.
    if (this.running !== run) return;
    const began = performance.now();
    let draft: Draft | undefined;
    try {
      draft = advance(run, this.sliceMs);
    } catch (error) {
      this.running = undefined;
      run.busyMs += performance.now() - began;
      this.failed(error);
      return;
    }
    run.busyMs += performance.now() - began;
    if (draft === undefined) {
      setImmediate(() => this.slice(run));
      return;
    }
    this.running = undefined;
    this.commit(draft, run);
    if (this.dirty && this.timer === undefined && !this.stopped) {
      // Callers of planSliced during this plan wait for a read after their call: start at once for them.
      if (this.waiting.length > 0) this.startRun();
      else this.schedule(Math.max(this.minIntervalMs, 3 * run.busyMs));
    }
  }

  /** Compiling threw: keep the last plan and try again later; the caches may have moved on. */
  private failed(error: unknown): void {
    this.lastEnd = performance.now();
    this.options.onError?.(error);
    this.release();
    this.dirty = true;
    if (this.timer === undefined && !this.stopped) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (this.dirty && this.running === undefined) this.startRun();
      }, RETRY_AFTER_ERROR_MS);
    }
  }

  /** Resolves the callers of planSliced whose call came before read number `read` (all of them by default). */
  private release(read = Infinity): void {
    const ready = this.waiting.filter((w) => w.after < read);
    this.waiting = this.waiting.filter((w) => w.after >= read);
    for (const w of ready) w.resolve(this.plan);
  }

  /** Publishes a draft as the next plan and reports what it changed. */
  private commit(d: Draft, run: Run): Plan {
    const first = this.plan === undefined;
    this.lastEnd = performance.now();
    const plan: Plan = {
      seq: (this.plan?.seq ?? 0) + 1,
      result: d.result,
      desired: d.desired,
      memberOf: d.memberOf,
      labelsMembers: d.input.settings.memberLabel,
      tenants: d.tenants,
      claimants: d.claimants,
      generations: d.generations,
      durationMs: this.lastEnd - run.started,
      busyMs: run.busyMs,
    };
    const changedNs = changedKeys(this.nsDigests, d.nsDigests, first);
    const changedTenants = changedKeys(this.tenantDigests, d.tenantDigests, first);
    this.plan = plan;
    this.nsDigests = d.nsDigests;
    this.tenantDigests = d.tenantDigests;
    this.release(d.read);
    this.options.onPlan(plan, { namespaces: changedNs, tenants: changedTenants });
    return plan;
  }

  /** One plan as steps: the read (in the first step), the compile, the indexes and the digests. */
  private *steps(): Steps<Draft> {
    const read = ++this.reads;
    // A plan committed while this one runs supersedes it, so these stay the plan before this one.
    const before = this.plan;
    const digestsBefore = this.nsDigests;
    const input = this.options.read();
    const result = yield* compileSteps(input, this.cache);
    // Policies come sorted by namespace: one run of them per namespace. A namespace whose
    // policies are the same objects as before keeps its map.
    const desired = new Map<string, Map<string, NetworkPolicy>>();
    const policies = result.policies;
    for (let i = 0; i < policies.length;) {
      const ns = (policies[i] as NetworkPolicy).metadata.namespace;
      let end = i + 1;
      while (end < policies.length && (policies[end] as NetworkPolicy).metadata.namespace === ns) end++;
      const old = before?.desired.get(ns) as Map<string, NetworkPolicy> | undefined;
      let same = old !== undefined && old.size === end - i;
      for (let j = i; same && j < end; j++) same = old?.get((policies[j] as NetworkPolicy).metadata.name) === policies[j];
      if (same) desired.set(ns, old as Map<string, NetworkPolicy>);
      else {
        const byName = new Map<string, NetworkPolicy>();
        for (let j = i; j < end; j++) byName.set((policies[j] as NetworkPolicy).metadata.name, policies[j] as NetworkPolicy);
        desired.set(ns, byName);
      }
      if (desired.size % STEP === 0) yield;
      i = end;
    }
    const tenants = new Map(result.tenants.map((t) => [t.name, t]));
    const generations = new Map(input.tenants.map((t) => [t.metadata.name, t.metadata.generation]));
    const claimants = new Map<string, string[]>();
    for (const t of result.tenants) {
      for (const ns of [...t.members, ...t.conflicts.map((c) => c.namespace)]) {
        const list = claimants.get(ns);
        if (list) list.push(t.name);
        else claimants.set(ns, [t.name]);
      }
      yield;
    }
    const memberOf = new Map(result.memberLabels.map((m) => [m.namespace, m.tenant]));
    yield;
    const nsDigests = new Map<string, string>();
    let n = 0;
    for (const ns of new Set([...desired.keys(), ...memberOf.keys()])) {
      if (++n % STEP === 0) yield;
      const kept = before !== undefined && desired.get(ns) === before.desired.get(ns) && memberOf.get(ns) === before.memberOf.get(ns) ? digestsBefore.get(ns) : undefined;
      nsDigests.set(ns, kept ?? namespaceDigest(desired.get(ns), memberOf.get(ns), this.json));
    }
    const tenantDigests = new Map<string, string>();
    for (const t of result.tenants) {
      tenantDigests.set(t.name, yield* tenantDigest(t, generations.get(t.name), nsDigests, this.json));
      yield;
    }
    return { read, input, result, desired, tenants, memberOf, claimants, generations, nsDigests, tenantDigests };
  }
}

/** Keys whose digest differs between the two maps, including keys in only one of them. */
function changedKeys(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>, all: boolean): string[] {
  const keys = new Set<string>();
  for (const [key, digest] of after) if (all || before.get(key) !== digest) keys.add(key);
  for (const key of before.keys()) if (!after.has(key)) keys.add(key);
  return [...keys].sort();
}

/**
 * A digest of the JSON of a frozen part policies share (one tenant's spec, labels, owners),
 * each part stringified once while it lives (the compile cache keeps unchanged parts across
 * plans). Digests, not the JSON, so what is kept stays small.
 */
function partsJson(): (value: object | undefined) => string {
  const parts = new WeakMap<object, string>();
  return (value) => {
    if (value === undefined) return '';
    let s = parts.get(value);
    if (s === undefined) parts.set(value, (s = createHash('sha1').update(JSON.stringify(value)).digest('base64')));
    return s;
  };
}

/** Everything of a policy the operator writes, as text. */
function policyText(p: NetworkPolicy, json: (value: object | undefined) => string): string {
  const m = p.metadata;
  return `${m.name}\u0000${json(m.labels)}\u0000${json(m.annotations)}\u0000${json(m.ownerReferences)}\u0000${json(p.spec)}\u0001`;
}

/** What a namespace should hold: its policies and its member label. */
function namespaceDigest(desired: ReadonlyMap<string, NetworkPolicy> | undefined, member: string | undefined, json: (value: object | undefined) => string): string {
  const hash = createHash('sha1').update(`${member ?? ''}\u0002`);
  for (const p of desired?.values() ?? []) hash.update(policyText(p, json));
  return hash.digest('base64');
}

function* tenantDigest(t: TenantResult, generation: number | undefined, nsDigests: ReadonlyMap<string, string>, json: (value: object | undefined) => string): Steps<string> {
  // The tenant's status depends on its result and on what its namespaces should hold.
  // An Audit tenant's plan compares its would-be policies with the live ones.
  const namespaces = [...t.members, ...t.conflicts.map((c) => c.namespace)].map((ns) => `${ns}=${nsDigests.get(ns) ?? ''}`);
  let audit = '';
  if (t.mode === 'Audit') {
    const hash = createHash('sha1');
    let n = 0;
    for (const p of t.policies) {
      hash.update(`${p.metadata.namespace}\u0000${policyText(p, json)}`);
      if (++n % STEP === 0) yield;
    }
    audit = hash.digest('base64');
  }
  return JSON.stringify([generation, t.mode, t.members, t.conflicts, t.errors, t.warnings, t.policies.length, namespaces, audit]);
}

/** Runs the plan's steps for up to `budgetMs`: the finished draft, or undefined when time ran out first. */
function advance(run: Run, budgetMs: number): Draft | undefined {
  const began = performance.now();
  for (;;) {
    const next = run.steps.next();
    if (next.done === true) return next.value;
    if (performance.now() - began >= budgetMs) return undefined;
  }
}
