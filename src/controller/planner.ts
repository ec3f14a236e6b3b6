/**
 * The planner turns the cached world into a Plan (the compiler's output, indexed by
 * namespace) and tells the queue which keys a new plan changed.
 *
 * Guarantees: a plan is a pure function of one consistent read of the caches; plans come in
 * order; after `markDirty` a new plan follows within `max(minIntervalMs, 3 x the last
 * compile time)`, so bursts of events (a thousand namespaces labelled in a second) cost a
 * handful of compiles, not one per event, and compiling never takes more than about a
 * quarter of the CPU. Keys are reported when their desired state changed, plus every key on
 * the first plan.
 * Assumes: `read` returns the caches as they are now (it runs synchronously).
 * Leaves out: writing anything; reconcilers compare the plan with the live policies.
 */
import { createHash } from 'node:crypto';
import type { NetworkPolicy } from '../api/k8s.js';
import type { CompileInput, CompileResult, TenantResult } from '../compiler/compile.js';
import { compile } from '../compiler/compile.js';

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
  readonly durationMs: number;
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
  /** Called when compiling throws (a bug: the compiler reports bad input as results). */
  onError?: (error: unknown) => void;
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
  private readonly minIntervalMs: number;

  constructor(private readonly options: PlannerOptions) {
    this.minIntervalMs = options.minIntervalMs ?? 20;
  }

  get current(): Plan | undefined {
    return this.plan;
  }

  desiredIn(namespace: string): ReadonlyMap<string, NetworkPolicy> {
    return this.plan?.desired.get(namespace) ?? EMPTY;
  }

  /** Something the plan depends on changed: plan again soon. */
  markDirty(): void {
    if (this.stopped) return;
    this.dirty = true;
    if (this.timer !== undefined) return;
    const interval = Math.max(this.minIntervalMs, 3 * (this.plan?.durationMs ?? 0));
    const wait = Math.max(0, this.lastEnd + interval - performance.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.dirty) this.planNow();
    }, wait);
  }

  /** Compiles at once (used at start, and by tests). */
  planNow(): Plan | undefined {
    if (this.stopped) return this.plan;
    this.dirty = false;
    const started = performance.now();
    let result: CompileResult;
    let input: CompileInput;
    try {
      input = this.options.read();
      result = compile(input);
    } catch (error) {
      this.options.onError?.(error);
      // Try again later; the caches may have moved on.
      this.dirty = true;
      if (this.timer === undefined && !this.stopped) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          if (this.dirty) this.planNow();
        }, RETRY_AFTER_ERROR_MS);
      }
      return this.plan;
    } finally {
      this.lastEnd = performance.now();
    }
    const desired = new Map<string, Map<string, NetworkPolicy>>();
    for (const policy of result.policies) {
      const ns = policy.metadata.namespace;
      let byName = desired.get(ns);
      if (!byName) desired.set(ns, (byName = new Map()));
      byName.set(policy.metadata.name, policy);
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
    }
    const memberOf = new Map(result.memberLabels.map((m) => [m.namespace, m.tenant]));
    const first = this.plan === undefined;
    const plan: Plan = {
      seq: (this.plan?.seq ?? 0) + 1,
      result,
      desired,
      memberOf,
      labelsMembers: input.settings.memberLabel,
      tenants,
      claimants,
      generations,
      durationMs: this.lastEnd - started,
    };

    const nsDigests = namespaceDigests(desired, memberOf);
    const changedNs = changedKeys(this.nsDigests, nsDigests, first);
    const tenantDigests = new Map(result.tenants.map((t) => [t.name, tenantDigest(t, generations.get(t.name), nsDigests)]));
    const changedTenants = changedKeys(this.tenantDigests, tenantDigests, first);
    this.plan = plan;
    this.nsDigests = nsDigests;
    this.tenantDigests = tenantDigests;
    this.options.onPlan(plan, { namespaces: changedNs, tenants: changedTenants });
    return plan;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** Keys whose digest differs between the two maps, including keys in only one of them. */
function changedKeys(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>, all: boolean): string[] {
  const keys = new Set<string>();
  for (const [key, digest] of after) if (all || before.get(key) !== digest) keys.add(key);
  for (const key of before.keys()) if (!after.has(key)) keys.add(key);
  return [...keys].sort();
}

/** What each namespace should hold: its policies and its member label. */
function namespaceDigests(desired: ReadonlyMap<string, ReadonlyMap<string, NetworkPolicy>>, memberOf: ReadonlyMap<string, string>): Map<string, string> {
  // Policies of one tenant share their frozen parts, so stringify each part once.
  const parts = new WeakMap<object, string>();
  const json = (value: object | undefined): string => {
    if (value === undefined) return '';
    let s = parts.get(value);
    if (s === undefined) parts.set(value, (s = JSON.stringify(value)));
    return s;
  };
  const digests = new Map<string, string>();
  for (const ns of new Set([...desired.keys(), ...memberOf.keys()])) {
    let digest = `${memberOf.get(ns) ?? ''}\u0002`;
    for (const p of desired.get(ns)?.values() ?? []) {
      const m = p.metadata;
      digest += `${m.name}\u0000${json(m.labels)}\u0000${json(m.annotations)}\u0000${json(m.ownerReferences)}\u0000${json(p.spec)}\u0001`;
    }
    digests.set(ns, createHash('sha1').update(digest).digest('base64'));
  }
  return digests;
}

function tenantDigest(t: TenantResult, generation: number | undefined, nsDigests: ReadonlyMap<string, string>): string {
  // The tenant's status depends on its result and on what its namespaces should hold.
  // An Audit tenant's plan compares its would-be policies with the live ones.
  const namespaces = [...t.members, ...t.conflicts.map((c) => c.namespace)].map((ns) => `${ns}=${nsDigests.get(ns) ?? ''}`);
  const audit = t.mode === 'Audit' ? createHash('sha1').update(JSON.stringify(t.policies)).digest('base64') : '';
  return JSON.stringify([generation, t.mode, t.members, t.conflicts, t.errors, t.warnings, t.policies.length, namespaces, audit]);
}
