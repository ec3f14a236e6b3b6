/**
 * The two reconcilers. Each gets a key, rereads the plan and the caches, and makes the
 * cluster say what the plan says; neither knows which event brought the key.
 *
 * - `reconcileNamespace(ns)`: the NetworkPolicies netfence maintains in one namespace.
 *   Creates what is missing (allows before the deny, and in a namespace without any netfence
 *   policy a bridge before both, so that no flow the plan allows fails while the policies
 *   land one by one: see onboarding.ts), corrects what differs, then prunes what no plan wants.
 *   With members selected by label, it first sets the namespace's member label (a joining
 *   namespace is then admitted by its tenant's rules, its own included, before its deny lands)
 *   or removes it (a leaving one is no longer admitted before its policies go). When that
 *   write fails it still writes the planned policies (a namespace must get its deny), and
 *   prunes only where the plan keeps a deny there (a stale label then admits nothing the
 *   namespace's own planned policies do not, and the old tenant's allows must go); a
 *   namespace that leaves every tenant keeps its policies until its label is gone.
 *   Guarantees P5: it changes or deletes only policies with the managed-by label and a
 *   TenantIsolation owner, creates with a create call (a same-named policy of someone else
 *   stays untouched), and deletes with preconditions on uid and resourceVersion, so a policy
 *   changed since it was read is not deleted.
 * - `reconcileTenant(name)`: the TenantIsolation's status (observedGeneration, conditions,
 *   members, counts, the Audit plan) and the Events about conflicts, invalid specs and plans.
 *   An unchanged status is not written.
 */
import { createHash } from 'node:crypto';
import { CONDITION, KIND, API_VERSION, POLICY_NAMES, REASON } from '../api/constants.js';
import type { DeepReadonly, NetworkPolicy } from '../api/k8s.js';
import { LIMITS } from '../api/schema.js';
import { formatTime } from '../core/time.js';
import type { Condition, PlannedChange, TenantIsolation, TenantIsolationStatus } from '../api/types.js';
import { isAborted, isApiError } from '../kube/client.js';
import { canonicalJson, isNetfenceOwned, policyMatches, tenantOwners } from '../compiler/ownership.js';
import type { Plan } from './planner.js';
import { ONBOARDING_BRIDGE, onboardingBridge } from './onboarding.js';

export type Policy = DeepReadonly<NetworkPolicy>;
export type Tenant = DeepReadonly<TenantIsolation>;

/** The tenant an Event is about. */
export interface TenantRef {
  name: string;
  uid: string;
}

export interface PolicyReader {
  /** Policies labelled managed-by netfence in the namespace, by name (own recent writes included). */
  policiesIn(namespace: string): ReadonlyMap<string, Policy>;
}

export interface TenantReader {
  tenant(name: string): Tenant | undefined;
}

/** Writes of NetworkPolicies; every call is one API request. */
export interface PolicyWriter {
  /** Creates; rejects with ApiError 409 when a policy of that name exists. */
  create(policy: Policy): Promise<Policy>;
  /**
   * Server-side apply, field manager netfence, forcing conflicts. With `live`, its uid goes
   * along as a precondition: if the object was replaced by someone else's since it was read,
   * the API server refuses (422) instead of taking the new object over.
   */
  apply(policy: Policy, live?: Policy): Promise<Policy>;
  /** Replaces the whole object (PUT) at `live`'s resourceVersion: removes fields others added. */
  replace(policy: Policy, live: Policy): Promise<Policy>;
  /** Deletes with preconditions on uid and resourceVersion. A 404 is success. */
  remove(live: Policy): Promise<void>;
  get(namespace: string, name: string): Promise<Policy | undefined>;
}

/** The member label of namespaces; every call is one API request. */
export interface MemberLabelWriter {
  /** Sets MEMBER_LABEL to `tenant`, or removes it (null); `uid` is a precondition when given. */
  setMember(namespace: string, tenant: string | null, uid?: string): Promise<void>;
}

export interface StatusWriter {
  applyStatus(name: string, status: TenantIsolationStatus): Promise<void>;
}

export interface Recorder {
  event(tenants: readonly TenantRef[], type: 'Normal' | 'Warning', reason: string, message: string): void;
}

/**
 * What the reconcilers remember between runs. Lost on restart, which costs at most a label on
 * an Event, and a Degraded condition until the failing write has been tried once more.
 */
export class ReconcileMemory {
  /** `ns/name` -> digest of the policy last written there. */
  readonly written = new Map<string, string>();
  /**
   * `ns/name` -> why the last attempt to put that planned policy in place failed. Kept until an
   * attempt at that very policy succeeds (or finds it in place): another namespace's success
   * clears nothing. A tenant is Degraded while one of its planned policies is not in place and
   * has a failure here (reconcileTenant), so the condition follows each policy's state.
   */
  readonly policyFailures = new Map<string, string>();
  /** namespace -> why its member label could not be written, and the tenants that must show it. */
  readonly labelFailures = new Map<string, { tenants: readonly string[]; message: string }>();
  /** tenant -> digest of the last problems reported by Event. */
  readonly reported = new Map<string, string>();
  /** Namespaces whose last reconcile found a planned name held by someone else's policy. */
  readonly blockedIn = new Set<string>();

  /** Forgets the failures of a namespace that is gone or going; returns the tenants they concerned. */
  forgetNamespace(namespace: string): string[] {
    const tenants = [...(this.labelFailures.get(namespace)?.tenants ?? [])];
    this.labelFailures.delete(namespace);
    this.blockedIn.delete(namespace);
    const prefix = `${namespace}/`;
    for (const key of this.policyFailures.keys()) if (key.startsWith(prefix)) this.policyFailures.delete(key);
    return tenants;
  }

  /** Forgets namespaces outside `namespaces` and tenants `exists` no longer knows. */
  sweep(namespaces: ReadonlySet<string>, exists: (tenant: string) => boolean): void {
    for (const map of [this.written, this.policyFailures]) {
      for (const key of map.keys()) if (!namespaces.has(key.slice(0, key.indexOf('/')))) map.delete(key);
    }
    for (const ns of this.labelFailures.keys()) if (!namespaces.has(ns)) this.labelFailures.delete(ns);
    for (const ns of this.blockedIn) if (!namespaces.has(ns)) this.blockedIn.delete(ns);
    for (const name of this.reported.keys()) if (!exists(name)) this.reported.delete(name);
  }
}

export interface NamespaceOutcome {
  created: string[];
  updated: string[];
  driftCorrected: string[];
  pruned: string[];
  /** Names netfence wants but a policy it does not own holds. */
  blocked: string[];
  /** The member label written: the tenant, or null when removed; absent when unchanged. */
  memberLabel?: string | null;
}

/** The namespace's member label, when members are selected by label. */
export interface MemberLabelState {
  /** The value it carries now (own recent writes included), or undefined. */
  have: string | undefined;
  /** The value the plan wants, or undefined for none. */
  want: string | undefined;
  uid: string | undefined;
  writer: MemberLabelWriter;
}

export interface NamespaceContext {
  plan: Plan;
  policies: PolicyReader;
  writer: PolicyWriter;
  recorder: Recorder;
  memory: ReconcileMemory;
  /** Absent when members are selected by name: the label is then not netfence's to keep. */
  member?: MemberLabelState;
  /** false: the namespace holds no pod, so no flow can break while its policies land, and no bridge is written. Default true. */
  hasPods?: boolean;
}

/** What was written, as a short hash: memory keeps one per managed policy. */
const digestOf = (p: Policy): string =>
  createHash('sha1')
    .update(canonicalJson([p.metadata.labels, p.metadata.annotations, p.metadata.ownerReferences, p.spec]))
    .digest('base64');

const ownersOf = (p: Policy): TenantRef[] => tenantOwners(p).map((o) => ({ name: o.name, uid: o.uid }));

/** Failures a tenant status lists in full; the rest are counted. */
const LISTED_FAILURES = 3;

/**
 * The bridge, created; undefined when the plan needs none or it cannot be written (a policy of
 * that name exists, a quota, a refusal): the plan is then written without it, as before
 * bridges, and a failure that matters shows on the plan's own writes.
 */
async function createBridge(writer: PolicyWriter, desired: readonly Policy[]): Promise<Policy | undefined> {
  const bridge = onboardingBridge(desired);
  if (bridge === undefined) return undefined;
  return writer.create(bridge).catch(() => undefined);
}

/** Deny last when writing, first when pruning: see the module comment. */
function writeOrder(a: Policy, b: Policy): number {
  const deny = (p: Policy) => (p.metadata.name === POLICY_NAMES.defaultDeny ? 1 : 0);
  return deny(a) - deny(b) || (a.metadata.name < b.metadata.name ? -1 : 1);
}

export async function reconcileNamespace(namespace: string, ctx: NamespaceContext): Promise<NamespaceOutcome> {
  const { plan, policies, writer, recorder, memory } = ctx;
  const desired = [...(plan.desired.get(namespace)?.values() ?? [])].sort(writeOrder);
  const live = policies.policiesIn(namespace);
  const outcome: NamespaceOutcome = { created: [], updated: [], driftCorrected: [], pruned: [], blocked: [] };
  const labelFailure = await writeMemberLabel(namespace, ctx.member, outcome, memory);
  // A namespace without any netfence policy is carried through its fencing by the bridge
  // (onboarding.ts): written first, deleted once the deny is in place, or as soon as a write
  // fails (the next pass then goes without it). Not where the last pass found a name held by
  // someone else's policy: that pass wrote nothing lasting, and a bridge each time would loop.
  // Nor where no pod runs (a namespace just created): there is no flow to carry.
  const bridge = live.size === 0 && ctx.hasPods !== false && !memory.blockedIn.has(namespace) ? await createBridge(writer, desired) : undefined;
  const leftover = live.get(ONBOARDING_BRIDGE);
  const dropBridges = async (): Promise<void> => {
    for (const b of [bridge, leftover]) if (b && isNetfenceOwned(b)) await writer.remove(b).catch(() => undefined);
  };

  for (const want of desired) {
    const key = `${namespace}/${want.metadata.name}`;
    const digest = digestOf(want);
    let current = live.get(want.metadata.name);
    try {
      if (current === undefined) {
        try {
          await writer.create(want);
          // Written before with this content and now missing: someone deleted it.
          (memory.written.get(key) === digest ? outcome.driftCorrected : outcome.created).push(want.metadata.name);
          memory.written.set(key, digest);
          memory.policyFailures.delete(key);
          continue;
        } catch (error) {
          if (!isApiError(error, 409)) throw error;
          current = await writer.get(namespace, want.metadata.name);
          if (current === undefined) throw error;
        }
      }
      if (!isNetfenceOwned(current)) {
        outcome.blocked.push(want.metadata.name);
        memory.policyFailures.set(key, 'a NetworkPolicy netfence does not own holds this name; rename or delete it');
        continue;
      }
      if (policyMatches(current, want)) {
        memory.written.set(key, digest);
        memory.policyFailures.delete(key);
        continue;
      }
      const drift = memory.written.get(key) === digest;
      let written = await writer.apply(want, current);
      // Fields another manager added (a key in a selector, say) survive an apply: replace them.
      if (!policyMatches(written, want)) written = await writer.replace(want, written);
      if (!policyMatches(written, want)) throw new Error(`${key}: the API server keeps a spec that differs from netfence's after a replace`);
      memory.written.set(key, digest);
      memory.policyFailures.delete(key);
      (drift ? outcome.driftCorrected : outcome.updated).push(want.metadata.name);
    } catch (error) {
      // A cancelled request (the lease is gone, or shutdown) says nothing about the policy.
      if (!isAborted(error)) memory.policyFailures.set(key, (error as Error).message);
      await dropBridges();
      report(namespace, outcome, recorder, desired);
      throw error;
    }
  }

  if (bridge) await writer.remove(bridge);
  const fenced = desired.some((p) => p.metadata.name === POLICY_NAMES.defaultDeny);
  if (labelFailure !== undefined && !fenced) {
    report(namespace, outcome, recorder, desired);
    throw labelFailure.error;
  }
  if (outcome.blocked.length > 0) memory.blockedIn.add(namespace);
  else memory.blockedIn.delete(namespace);
  const wanted = plan.desired.get(namespace);
  const stale = [...live.values()]
    .filter((p) => !wanted?.has(p.metadata.name) && isNetfenceOwned(p))
    .sort(writeOrder)
    .reverse();
  for (const policy of stale) {
    await writer.remove(policy);
    memory.written.delete(`${namespace}/${policy.metadata.name}`);
    outcome.pruned.push(policy.metadata.name);
  }
  if (labelFailure !== undefined) {
    report(namespace, outcome, recorder, desired, stale);
    throw labelFailure.error;
  }
  report(namespace, outcome, recorder, desired, stale);
  return outcome;
}

/** Writes the member label where it differs from the plan; the failure, if any, for the caller to throw once the policies are written. */
async function writeMemberLabel(
  namespace: string,
  member: MemberLabelState | undefined,
  outcome: NamespaceOutcome,
  memory: ReconcileMemory,
): Promise<{ error: unknown } | undefined> {
  if (member === undefined || member.have === member.want) {
    memory.labelFailures.delete(namespace);
    return undefined;
  }
  try {
    await member.writer.setMember(namespace, member.want ?? null, member.uid);
    outcome.memberLabel = member.want ?? null;
    memory.labelFailures.delete(namespace);
    return undefined;
  } catch (error) {
    // Both tenants must show it: the one the namespace joins, and the one whose rules its stale label still satisfies.
    const verb = member.want === undefined ? 'remove' : 'set';
    const tenants = [...new Set([member.want, member.have])].filter((t): t is string => t !== undefined);
    if (!isAborted(error)) memory.labelFailures.set(namespace, { tenants, message: `cannot ${verb} its member label: ${(error as Error).message}` });
    return { error };
  }
}

function report(namespace: string, outcome: NamespaceOutcome, recorder: Recorder, desired: readonly Policy[], pruned: readonly Policy[] = []): void {
  const owners = (names: readonly string[], from: readonly Policy[]): TenantRef[] => {
    const refs = new Map<string, TenantRef>();
    for (const p of from) if (names.includes(p.metadata.name)) for (const o of ownersOf(p)) refs.set(o.uid, o);
    return [...refs.values()];
  };
  const say = (names: string[], from: readonly Policy[], type: 'Normal' | 'Warning', reason: string, verb: string) => {
    if (names.length > 0) recorder.event(owners(names, from), type, reason, `${verb} ${names.join(', ')} in namespace ${namespace}`);
  };
  say(outcome.created, desired, 'Normal', REASON.policyCreated, 'created');
  say(outcome.updated, desired, 'Normal', REASON.policyUpdated, 'updated');
  say(outcome.driftCorrected, desired, 'Warning', REASON.driftCorrected, 'restored edited or deleted');
  say(outcome.pruned, pruned, 'Normal', REASON.policyPruned, 'pruned');
  say(outcome.blocked, desired, 'Warning', REASON.applyFailed, 'left alone NetworkPolicies netfence does not own but needs the names of:');
}

// ---------------------------------------------------------------------------------------
// Tenant status

export interface TenantContext {
  plan: Plan;
  tenants: TenantReader;
  policies: PolicyReader;
  writer: StatusWriter;
  recorder: Recorder;
  memory: ReconcileMemory;
  now: () => Date;
}

/** At most this many planned changes are listed in status; `plannedChangeCount` has the total. */
export const MAX_PLANNED_CHANGES = LIMITS.plannedChanges;

export interface TenantOutcome {
  /** False when the status already said this. */
  wrote: boolean;
  status?: TenantIsolationStatus;
}

export async function reconcileTenant(name: string, ctx: TenantContext): Promise<TenantOutcome> {
  const tenant = ctx.tenants.tenant(name);
  const result = ctx.plan.tenants.get(name);
  // Deleted, or newer than the plan: the next plan brings the key back.
  if (!tenant || !result || ctx.plan.generations.get(name) !== tenant.metadata.generation) return { wrote: false };
  const ref: TenantRef = { name, uid: tenant.metadata.uid ?? '' };

  const byNamespace = new Map<string, Policy[]>(result.members.map((ns) => [ns, []]));
  for (const want of result.policies) byNamespace.get(want.metadata.namespace)?.push(want);
  let inPlace = 0;
  const planned: PlannedChange[] = [];
  const deletes: PlannedChange[] = [];
  let bridges = 0;
  // Level-based: a planned policy that is not in place and whose last write failed, whatever
  // happened in the tenant's other namespaces since.
  const failures: string[] = [];
  for (const [ns, wanted] of byNamespace) {
    const live = ctx.policies.policiesIn(ns);
    // A bridge still there: the namespace is not fenced as planned yet (onboarding.ts).
    if (live.has(ONBOARDING_BRIDGE) && result.mode !== 'Audit') bridges++;
    for (const want of wanted) {
      const current = live.get(want.metadata.name);
      if (current && policyMatches(current, want)) {
        inPlace++;
        continue;
      }
      planned.push({ action: current ? 'update' : 'create', namespace: ns, name: want.metadata.name });
      const failed = result.mode === 'Audit' ? undefined : ctx.memory.policyFailures.get(`${ns}/${want.metadata.name}`);
      if (failed !== undefined) failures.push(`${ns}/${want.metadata.name}: ${failed}`);
    }
    if (result.mode !== 'Audit') continue;
    const names = new Set(wanted.map((p) => p.metadata.name));
    for (const current of live.values()) {
      if (!names.has(current.metadata.name) && isNetfenceOwned(current)) deletes.push({ action: 'delete', namespace: ns, name: current.metadata.name });
    }
  }
  planned.push(...deletes);
  const total = result.policies.length;
  const generation = tenant.metadata.generation;
  for (const [ns, f] of ctx.memory.labelFailures) if (f.tenants.includes(name)) failures.push(`namespace ${ns}: ${f.message}`);
  const failure =
    failures.length === 0
      ? undefined
      : failures.slice(0, LISTED_FAILURES).join('; ') + (failures.length > LISTED_FAILURES ? `; and ${failures.length - LISTED_FAILURES} more` : '');
  const conflicts = result.conflicts.map((c) => `${c.namespace} (claimed by ${c.tenants.join(', ')})`);

  const conditions: Omit<Condition, 'lastTransitionTime'>[] = [];
  const cond = (type: string, ok: boolean, reason: string, message: string) =>
    conditions.push({ type, status: ok ? 'True' : 'False', reason, message, ...(generation !== undefined ? { observedGeneration: generation } : {}) });

  if (result.errors.length > 0) {
    cond(CONDITION.ready, false, REASON.invalidSpec, `cannot compile; member namespaces keep only deny policies: ${result.errors.join('; ')}`);
  } else if (conflicts.length > 0) {
    cond(CONDITION.ready, false, REASON.namespaceConflict, `namespaces claimed by more than one tenant keep only deny policies: ${conflicts.join('; ')}`);
  } else if (result.mode === 'Audit') {
    cond(CONDITION.ready, true, REASON.audit, `Audit mode: no policy written; Enforce would make ${planned.length} changes`);
  } else if (inPlace < total || bridges > 0) {
    const onboarding = bridges > 0 ? `; ${bridges} namespace${bridges === 1 ? '' : 's'} still onboarding` : '';
    cond(
      CONDITION.ready,
      false,
      failure ? REASON.applyFailed : REASON.progressing,
      `${inPlace} of ${total} policies in place${onboarding}${failure ? `; last failure: ${failure}` : ''}`,
    );
  } else {
    cond(CONDITION.ready, true, REASON.reconciled, `${total} policies in place in ${result.members.length} namespaces`);
  }
  const degraded = result.errors.length > 0 || conflicts.length > 0 || failure !== undefined;
  cond(
    CONDITION.degraded,
    degraded,
    result.errors.length > 0 ? REASON.invalidSpec : conflicts.length > 0 ? REASON.namespaceConflict : failure ? REASON.applyFailed : REASON.reconciled,
    result.errors.length > 0 ? result.errors.join('; ') : conflicts.length > 0 ? conflicts.join('; ') : (failure ?? 'no problems'),
  );
  cond(
    CONDITION.conflict,
    conflicts.length > 0,
    conflicts.length > 0 ? REASON.namespaceConflict : REASON.noConflict,
    conflicts.length > 0 ? conflicts.join('; ') : 'no namespace is claimed by another tenant',
  );
  // For kstatus (Flux, kpt, cli-utils), where Stalled True means Failed. Only what no retry can
  // fix stalls a tenant: a spec that cannot compile, a namespace claimed by two tenants. A write
  // failure may heal by itself (Degraded, not Stalled).
  const stalled = result.errors.length > 0 || conflicts.length > 0;
  cond(
    CONDITION.stalled,
    stalled,
    result.errors.length > 0 ? REASON.invalidSpec : conflicts.length > 0 ? REASON.namespaceConflict : REASON.notStalled,
    stalled ? 'the operator cannot converge until the spec or the namespace claims change' : 'nothing keeps the operator from converging',
  );

  const status: TenantIsolationStatus = {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions: withTransitionTimes(conditions, tenant.status?.conditions ?? [], ctx.now()),
    memberNamespaces: [...result.members],
    conflictingNamespaces: result.conflicts.map((c) => c.namespace),
    policyCount: result.mode === 'Audit' ? total : inPlace,
  };
  if (result.mode === 'Audit') {
    status.plannedChanges = planned.slice(0, MAX_PLANNED_CHANGES);
    status.plannedChangeCount = planned.length;
  }

  reportProblems(ref, result.errors, conflicts, result.warnings, result.mode === 'Audit' ? planned : undefined, ctx);
  if (tenant.status && canonicalJson(tenant.status) === canonicalJson(status)) return { wrote: false, status };
  await ctx.writer.applyStatus(name, status);
  return { wrote: true, status };
}

function withTransitionTimes(next: Omit<Condition, 'lastTransitionTime'>[], previous: readonly DeepReadonly<Condition>[], now: Date): Condition[] {
  const stamp = formatTime(now);
  return next.map((c) => {
    const before = previous.find((p) => p.type === c.type);
    return { ...c, lastTransitionTime: before && before.status === c.status ? before.lastTransitionTime : stamp };
  });
}

/** One Event per new set of problems (or new Audit plan), not one per reconcile. */
function reportProblems(
  ref: TenantRef,
  errors: readonly string[],
  conflicts: readonly string[],
  warnings: readonly string[],
  planned: readonly PlannedChange[] | undefined,
  ctx: TenantContext,
): void {
  const digest = JSON.stringify([errors, conflicts, warnings, planned]);
  if (ctx.memory.reported.get(ref.name) === digest) return;
  ctx.memory.reported.set(ref.name, digest);
  if (errors.length > 0) ctx.recorder.event([ref], 'Warning', REASON.invalidSpec, `member namespaces keep only deny policies: ${errors.join('; ')}`);
  if (conflicts.length > 0) ctx.recorder.event([ref], 'Warning', REASON.namespaceConflict, `deny-only: ${conflicts.join('; ')}`);
  for (const warning of warnings) ctx.recorder.event([ref], 'Warning', REASON.compileWarning, warning);
  if (planned !== undefined) {
    const count = (action: string) => planned.filter((c) => c.action === action).length;
    ctx.recorder.event([ref], 'Normal', REASON.audit, `Enforce would create ${count('create')}, update ${count('update')} and delete ${count('delete')} NetworkPolicies`);
  }
}

/** The object an Event names: a TenantIsolation. */
export function involvedObject(ref: TenantRef): { apiVersion: string; kind: string; name: string; uid: string } {
  return { apiVersion: API_VERSION, kind: KIND, name: ref.name, uid: ref.uid };
}
