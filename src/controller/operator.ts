/**
 * The operator: four supervised caches, the planner, one work queue and the two reconcilers.
 *
 * - Caches: TenantIsolations, Namespaces (metadata only, trimmed to name and labels), Pods
 *   (metadata only, trimmed to name and their `netfence.dev/expose-*` labels: the operator never
 *   holds a Pod spec or the rest of its labels), and NetworkPolicies labelled managed-by
 *   netfence (to see drift; their equal parts shared, see trimPolicy). They run on every
 *   replica, so a standby takes over warm.
 * - Event handlers only map objects to work: a change that can alter the plan (a tenant's
 *   generation, a namespace's labels but the member label, a pod's expose labels) marks the
 *   planner dirty; a change to a managed policy or to a namespace's member label queues its
 *   namespace (and the policy's owners). The planner queues what a new plan changed, a
 *   namespace without its deny ahead of everything else. A periodic resync queues
 *   everything; unchanged objects cost no write.
 * - `lead(signal)` runs the queue until `signal` aborts, then lets in-flight reconciles
 *   finish. Only the leader runs it.
 *
 * Guarantees: nothing is written before every cache has listed once, so a half-read world
 * never prunes anything; a failed read keeps the caches as they were.
 */
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, EXPOSE_LABEL_PREFIX, MEMBER_LABEL, POLICY_NAMES } from '../api/constants.js';
import type { DeepReadonly, Namespace, NetworkPolicy } from '../api/k8s.js';
import type { TenantIsolation } from '../api/types.js';
import type { PodLabels } from '../compiler/compile.js';
import type { CompilerSettings } from '../compiler/settings.js';
import { Interner } from '../core/objects.js';
import { RESOURCES, type KubeClient } from '../kube/client.js';
import { createInformer, type Change, type Informer, type InformerOptions } from '../runtime/informer.js';
import { EventRecorder, kubeMemberLabelWriter, kubePolicyWriter, kubeStatusWriter, type WriteVerb } from '../kube/writers.js';
import type { Logger } from '../runtime/log.js';
import type { Metrics } from '../runtime/metrics.js';
import { Planner, type Plan } from './planner.js';
import { tenantOwners } from '../compiler/ownership.js';
import {
  ReconcileMemory,
  reconcileNamespace,
  reconcileTenant,
  type MemberLabelWriter,
  type Policy,
  type PolicyReader,
  type PolicyWriter,
  type StatusWriter,
} from './reconcile.js';
import { WorkQueue, requeueAfter } from '../runtime/queue.js';

export interface OperatorOptions {
  client: KubeClient;
  settings: CompilerSettings;
  log: Logger;
  metrics: Metrics;
  /** Reconciles at once. Default 4. */
  concurrency?: number;
  /** Every key is reconciled at least this often. Default 10 minutes. */
  resyncPeriodMs?: number;
  /** This replica's name (Events, logs). */
  identity: string;
  /** Watch tuning, for tests that provoke timeouts and restarts. */
  informer?: Pick<InformerOptions<unknown>, 'watchTimeoutSeconds' | 'idleTimeoutMs' | 'backoff'>;
  /** Per-key retry backoff floor and cap; defaults as the queue's. */
  retry?: { baseDelayMs?: number; maxDelayMs?: number };
  eventFlushIntervalMs?: number;
}

type Meta = { metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; generation?: number; labels?: Record<string, string>; deletionTimestamp?: string } };
type NamespaceMeta = DeepReadonly<Namespace & Meta>;
type PodMeta = DeepReadonly<Meta & { metadata: { namespace: string } }>;
type Tenant = DeepReadonly<TenantIsolation>;

const NAMESPACE_KEY = 'namespace:';
const OVERLAY_TTL_MS = 10_000;
const TENANT_KEY = 'tenant:';
/**
 * Policy events and namespace reconciles queue their tenants' status this much later: the
 * events of one namespace's writes (a join is five to eight) then cost one status write, not
 * one each (a status lists every member, so at thousands of members each write is large).
 */
const STATUS_COALESCE_MS = 250;

/** Keeps name, uid, resourceVersion, labels (and deletionTimestamp): all the operator reads of Namespaces. */
function trimNamespace(raw: unknown): Meta {
  const m = (raw as { metadata: Meta['metadata'] & { deletionTimestamp?: string } }).metadata;
  const metadata: Meta['metadata'] = { name: m.name };
  if (m.uid !== undefined) metadata.uid = m.uid;
  if (m.resourceVersion !== undefined) metadata.resourceVersion = m.resourceVersion;
  if (m.labels !== undefined) metadata.labels = m.labels;
  if (m.deletionTimestamp !== undefined) metadata.deletionTimestamp = m.deletionTimestamp;
  return { metadata };
}

/**
 * Keeps name, namespace and the `netfence.dev/expose-*` labels: all the operator reads of a
 * Pod. No labels object at all for a pod without such labels (most pods).
 */
function trimPod(raw: unknown): Meta {
  const m = (raw as Meta).metadata;
  const metadata: Meta['metadata'] = { name: m.name, namespace: m.namespace as string };
  let exposed: Record<string, string> | undefined;
  for (const k in m.labels) {
    if (k.startsWith(EXPOSE_LABEL_PREFIX)) (exposed ??= {})[k] = m.labels[k] as string;
  }
  if (exposed !== undefined) metadata.labels = exposed;
  return { metadata };
}

/**
 * Keeps of a NetworkPolicy what the reconcilers read (name, namespace, uid, resourceVersion,
 * generation, labels, annotations, owners, spec), with the labels, annotations, owners and spec
 * shared through `parts`: the policies of one tenant repeat them in every member namespace.
 */
function trimPolicy(raw: unknown, parts: Interner): DeepReadonly<NetworkPolicy> {
  const p = raw as NetworkPolicy & { metadata: { generation?: number } };
  const m = p.metadata;
  const metadata: NetworkPolicy['metadata'] & { generation?: number } = { name: m.name, namespace: m.namespace };
  if (m.uid !== undefined) metadata.uid = m.uid;
  if (m.resourceVersion !== undefined) metadata.resourceVersion = m.resourceVersion;
  if (m.generation !== undefined) metadata.generation = m.generation;
  if (m.labels !== undefined) metadata.labels = parts.intern(m.labels);
  if (m.annotations !== undefined) metadata.annotations = parts.intern(m.annotations);
  if (m.ownerReferences !== undefined) metadata.ownerReferences = parts.intern(m.ownerReferences);
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata, spec: parts.intern(p.spec) };
}

const hasExposeLabel = (labels: Readonly<Record<string, string>> | undefined): boolean =>
  labels !== undefined && Object.keys(labels).some((k) => k.startsWith(EXPOSE_LABEL_PREFIX));

/** Equal labels, leaving out `ignore`. */
const sameLabels = (a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined, ignore?: string): boolean => {
  const ka = Object.keys(a ?? {}).filter((k) => k !== ignore);
  if (ka.length !== Object.keys(b ?? {}).filter((k) => k !== ignore).length) return false;
  return ka.every((k) => a?.[k] === b?.[k]);
};

export class Operator {
  readonly tenants: Informer<Tenant>;
  readonly namespaces: Informer<NamespaceMeta>;
  readonly pods: Informer<PodMeta>;
  readonly policies: Informer<DeepReadonly<NetworkPolicy>>;
  readonly planner: Planner;
  private readonly memory = new ReconcileMemory();
  private readonly recorder: EventRecorder;
  private readonly policyIndex = new Map<string, Map<string, Policy>>();
  /** namespace -> pods the cache holds there (namespaces without any are absent). */
  private readonly podCounts = new Map<string, number>();
  /**
   * Own writes the policy cache has not shown yet: namespace -> name -> the object written
   * (null when deleted) and when. An entry goes when the cache shows any event for that
   * policy, and is ignored after OVERLAY_TTL_MS, so it can never hide a later change for long.
   */
  private readonly overlay = new Map<string, Map<string, { policy: Policy | null; at: number }>>();
  private readonly policyWriter: PolicyWriter;
  private readonly memberWriter: MemberLabelWriter;
  /**
   * Member labels this replica wrote that the namespace cache has not shown yet: namespace ->
   * the value (null when removed) and when. Goes with the namespace's next event, or after
   * OVERLAY_TTL_MS.
   */
  private readonly labelOverlay = new Map<string, { tenant: string | null; at: number }>();
  private readonly statusWriter: StatusWriter;
  private queue: WorkQueue<string> | undefined;
  private subscriptions: { unsubscribe(): void }[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private gaugeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: OperatorOptions) {
    const { client, log, metrics } = options;
    const onWrite = (verb: WriteVerb) => metrics.apiWrites.inc({ verb });
    const common = (resource: string) => ({
      client,
      log: log.child({ resource }),
      ...options.informer,
      onEvent: (e: { type: string; reason?: string }) => {
        if ((e.type === 'relist' && e.reason !== 'start') || e.type === 'watch-restart') metrics.watchRestarts.inc({ resource, reason: e.reason ?? e.type });
      },
    });
    this.tenants = createInformer<Tenant>({ ...common('tenantisolations'), resource: RESOURCES.tenantIsolations });
    this.namespaces = createInformer<NamespaceMeta>({ ...common('namespaces'), resource: RESOURCES.namespaces, metadataOnly: true, transform: (raw) => trimNamespace(raw) as NamespaceMeta });
    this.pods = createInformer<PodMeta>({ ...common('pods'), resource: RESOURCES.pods, metadataOnly: true, transform: (raw) => trimPod(raw) as PodMeta });
    const parts = new Interner();
    this.policies = createInformer<DeepReadonly<NetworkPolicy>>({
      ...common('networkpolicies'),
      resource: RESOURCES.networkPolicies,
      labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
      transform: (raw) => trimPolicy(raw, parts),
    });

    this.recorder = new EventRecorder({
      client,
      log,
      instance: options.identity,
      ...(options.eventFlushIntervalMs !== undefined ? { flushIntervalMs: options.eventFlushIntervalMs } : {}),
      onWrite,
    });
    this.policyWriter = this.trackWrites(kubePolicyWriter(client, onWrite));
    this.memberWriter = this.trackLabels(kubeMemberLabelWriter(client, onWrite));
    this.statusWriter = kubeStatusWriter(client, onWrite);
    this.planner = new Planner({
      read: () => ({
        tenants: this.tenants.list(),
        namespaces: this.namespaces.list(),
        pods: this.exposedPods(),
        settings: options.settings,
      }),
      onPlan: (plan, changes) => this.onPlan(plan, changes),
      onError: (error) => log.error('compile failed', { error: String(error) }),
    });
  }

  /** Starts the caches (every replica). */
  start(): void {
    this.subscriptions.push(
      this.tenants.changes.subscribe((c) => this.onTenant(c)),
      this.namespaces.changes.subscribe((c) => this.onNamespace(c)),
      this.pods.changes.subscribe((c) => this.onPod(c)),
      this.policies.changes.subscribe((c) => this.onPolicy(c)),
    );
    for (const informer of this.informers()) informer.start();
    this.gaugeTimer = setInterval(() => this.updateGauges(), 5_000);
    this.gaugeTimer.unref();
  }

  get synced(): boolean {
    return this.informers().every((i) => i.synced);
  }

  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all(this.informers().map((i) => i.waitForSync(signal)));
  }

  /** Keys waiting in the queue (0 when not leading). */
  get queueDepth(): number {
    return this.queue?.depth ?? 0;
  }

  /**
   * Reconciles until `signal` aborts, then waits for the reconciles in flight. Call after
   * `start`; waits for the caches first.
   */
  async lead(signal: AbortSignal): Promise<void> {
    const { log, metrics } = this.options;
    await this.waitForSync(signal);
    if (signal.aborted) return;
    log.info('caches synced; reconciling', {
      tenants: this.tenants.list().length,
      namespaces: this.namespaces.list().length,
      pods: this.pods.list().length,
      policies: this.policies.list().length,
    });
    const queue = new WorkQueue<string>((key) => this.reconcile(key), {
      concurrency: this.options.concurrency ?? 4,
      ...this.options.retry,
      onResult: (key: string, outcome: string, durationMs: number, error?: unknown) => {
        const kind = key.startsWith(NAMESPACE_KEY) ? 'namespace' : 'tenant';
        metrics.reconcileDuration.observe({ kind, result: outcome }, durationMs / 1000);
        metrics.queueDepth.set(queue.depth);
        if (error !== undefined) {
          metrics.reconcileErrors.inc({ kind });
          log.warn('reconcile failed', { key, outcome, error: (error as Error).message });
        }
      },
    });
    this.queue = queue;
    queue.start();
    // A standby (or a replica whose caches were filling) planned before it led: whatever
    // those plans changed was queued nowhere. Take everything once.
    this.planner.planNow();
    this.enqueueEverything();
    const resync = this.options.resyncPeriodMs ?? 600_000;
    this.resyncTimer = setInterval(() => this.enqueueEverything(), resync);
    this.resyncTimer.unref();
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    clearInterval(this.resyncTimer);
    this.planner.stop();
    await queue.shutDown();
    await this.recorder.flush();
    this.queue = undefined;
    log.info('stopped reconciling');
  }

  /** Stops the caches; call after `lead` has returned. */
  async stop(): Promise<void> {
    for (const s of this.subscriptions) s.unsubscribe();
    this.subscriptions = [];
    if (this.gaugeTimer) clearInterval(this.gaugeTimer);
    this.planner.stop();
    await Promise.all(this.informers().map((i) => i.stop()));
    await this.recorder.close();
  }

  /** Queues every namespace that has or should have managed policies or a member label, and every tenant. */
  enqueueEverything(): void {
    const queue = this.queue;
    if (!queue) return;
    const plan = this.planner.current;
    const namespaces = new Set<string>([...(plan?.desired.keys() ?? []), ...(plan?.memberOf.keys() ?? []), ...this.policyIndex.keys()]);
    if (plan?.labelsMembers) for (const ns of this.namespaces.list()) if (ns.metadata.labels?.[MEMBER_LABEL] !== undefined) namespaces.add(ns.metadata.name);
    for (const ns of namespaces) this.addNamespace(ns);
    for (const t of this.tenants.list()) queue.add(TENANT_KEY + t.metadata.name);
    this.sweepMemory(namespaces);
  }

  /** Forgets what the reconcilers remembered about namespaces and tenants that are gone. */
  private sweepMemory(namespaces: ReadonlySet<string>): void {
    for (const key of this.memory.written.keys()) {
      if (!namespaces.has(key.slice(0, key.indexOf('/')))) this.memory.written.delete(key);
    }
    for (const map of [this.memory.failures, this.memory.reported]) {
      for (const name of map.keys()) if (!this.tenants.get(name)) map.delete(name);
    }
    const now = performance.now();
    for (const [ns, entry] of this.labelOverlay) if (now - entry.at > OVERLAY_TTL_MS) this.labelOverlay.delete(ns);
    for (const [ns, byName] of this.overlay) {
      for (const [name, entry] of byName) if (now - entry.at > OVERLAY_TTL_MS) byName.delete(name);
      if (byName.size === 0) this.overlay.delete(ns);
    }
  }

  private informers(): Informer<unknown>[] {
    return [this.tenants, this.namespaces, this.pods, this.policies] as Informer<unknown>[];
  }

  private exposedPods(): PodLabels[] {
    const out: PodLabels[] = [];
    for (const p of this.pods.list()) {
      if (hasExposeLabel(p.metadata.labels)) out.push({ namespace: p.metadata.namespace, name: p.metadata.name, labels: p.metadata.labels ?? {} });
    }
    return out;
  }

  private onPlan(plan: Plan, changes: { namespaces: string[]; tenants: string[] }): void {
    this.options.log.debug('planned', { seq: plan.seq, ms: Math.round(plan.durationMs), namespaces: changes.namespaces.length, tenants: changes.tenants.length });
    const queue = this.queue;
    if (!queue) return;
    for (const ns of changes.namespaces) this.addNamespace(ns);
    for (const t of changes.tenants) queue.add(TENANT_KEY + t);
    this.updateGauges();
  }

  /**
   * Queues a namespace. Urgent, ahead of everything else: one the plan fences that has no deny
   * yet, and one whose member label differs from the plan's while it carries one (a forged or
   * stale label admits it into that tenant's rules until it goes).
   */
  private addNamespace(namespace: string): void {
    const plan = this.planner.current;
    const unfenced = (plan?.desired.get(namespace)?.has(POLICY_NAMES.defaultDeny) ?? false) && !this.reader.policiesIn(namespace).has(POLICY_NAMES.defaultDeny);
    const label = plan?.labelsMembers ? this.memberLabelOf(namespace) : undefined;
    this.queue?.add(NAMESPACE_KEY + namespace, unfenced || (label !== undefined && label !== plan?.memberOf.get(namespace)));
  }

  private onTenant(change: Change<Tenant>): void {
    // Status writes do not change the generation: they cannot change the plan.
    // (A tenant deleted and created again has a new uid, maybe the same generation.)
    const old = change.type === 'upsert' ? change.old : undefined;
    if (old && old.metadata.uid === change.object.metadata.uid && old.metadata.generation === change.object.metadata.generation) {
      // A status write (ours, now visible): the tenant reconciler compares against the cached
      // status, so look again; a status computed while the cache still showed an older one
      // would otherwise never be written. Costs no write when nothing changed.
      this.queue?.add(TENANT_KEY + change.object.metadata.name);
      return;
    }
    if (change.type === 'resync') {
      this.queue?.add(TENANT_KEY + change.object.metadata.name);
      return;
    }
    this.planner.markDirty();
  }

  private onNamespace(change: Change<NamespaceMeta>): void {
    if (change.type === 'resync') return;
    const name = change.object.metadata.name;
    this.labelOverlay.delete(name);
    const old = change.type === 'upsert' ? change.old : undefined;
    // The member label is netfence's output, not the plan's input: a namespace that shows up
    // with one or has it changed is looked at against the plan (our own write costs a look and
    // no write), so a forged or stale label goes however the plan changes.
    if (change.type === 'upsert' && old?.metadata.labels?.[MEMBER_LABEL] !== change.object.metadata.labels?.[MEMBER_LABEL] && this.planner.current?.labelsMembers) {
      this.addNamespace(name);
    }
    if (old && old.metadata.uid === change.object.metadata.uid && sameLabels(old.metadata.labels, change.object.metadata.labels, MEMBER_LABEL)) {
      // A namespace that starts terminating needs no new plan, but its writes stop.
      return;
    }
    // A namespace deleted and created again under the same name: reconcile it whatever the plan says.
    if (old && old.metadata.uid !== change.object.metadata.uid) this.addNamespace(name);
    this.planner.markDirty();
  }

  private onPod(change: Change<PodMeta>): void {
    if (change.type === 'resync') return;
    const ns = change.object.metadata.namespace;
    if (change.type === 'delete' || !change.old) {
      const count = (this.podCounts.get(ns) ?? 0) + (change.type === 'delete' ? -1 : 1);
      if (count > 0) this.podCounts.set(ns, count);
      else this.podCounts.delete(ns);
    }
    const before = change.type === 'upsert' ? change.old?.metadata.labels : undefined;
    const after = change.object.metadata.labels;
    // Only exposure labels feed the plan (as diagnostics).
    if (!hasExposeLabel(after) && !hasExposeLabel(before)) return;
    if (change.type === 'upsert' && change.old && sameLabels(before, after)) return;
    this.planner.markDirty();
  }

  private onPolicy(change: Change<DeepReadonly<NetworkPolicy>>): void {
    const p = change.object;
    const ns = p.metadata.namespace;
    const key = `${ns}/${p.metadata.name}`;
    if (change.type !== 'resync') {
      const pending = this.overlay.get(ns);
      pending?.delete(p.metadata.name);
      if (pending?.size === 0) this.overlay.delete(ns);
      let byName = this.policyIndex.get(ns);
      if (change.type === 'delete') {
        byName?.delete(p.metadata.name);
        if (byName?.size === 0) this.policyIndex.delete(ns);
      } else {
        if (!byName) this.policyIndex.set(ns, (byName = new Map()));
        byName.set(p.metadata.name, p);
      }
    }
    const queue = this.queue;
    if (!queue) return;
    this.addNamespace(ns);
    for (const owner of tenantOwners(p)) queue.addAfter(TENANT_KEY + owner.name, STATUS_COALESCE_MS);
    // Tenants that claim the namespace report on its policies too (an Audit plan, conflicts).
    for (const tenant of this.planner.current?.claimants.get(ns) ?? []) queue.addAfter(TENANT_KEY + tenant, STATUS_COALESCE_MS);
  }

  /** The policy cache with this replica's own recent writes laid over it. */
  private readonly reader: PolicyReader = {
    policiesIn: (namespace) => {
      const cached = this.policyIndex.get(namespace);
      const pending = this.overlay.get(namespace);
      if (!pending) return cached ?? new Map();
      const merged = new Map(cached);
      const now = performance.now();
      for (const [name, entry] of pending) {
        if (now - entry.at > OVERLAY_TTL_MS) pending.delete(name);
        else if (entry.policy === null) merged.delete(name);
        else merged.set(name, entry.policy);
      }
      return merged;
    },
  };

  /** The member label of a namespace: this replica's write the cache has not shown yet, else the cache's. */
  private memberLabelOf(namespace: string): string | undefined {
    const pending = this.labelOverlay.get(namespace);
    if (pending !== undefined && performance.now() - pending.at <= OVERLAY_TTL_MS) return pending.tenant ?? undefined;
    return this.namespaces.get(namespace)?.metadata.labels?.[MEMBER_LABEL];
  }

  private trackLabels(writer: MemberLabelWriter): MemberLabelWriter {
    return {
      setMember: async (namespace, tenant, uid) => {
        await writer.setMember(namespace, tenant, uid);
        if (this.namespaces.get(namespace)?.metadata.labels?.[MEMBER_LABEL] !== (tenant ?? undefined)) this.labelOverlay.set(namespace, { tenant, at: performance.now() });
      },
    };
  }

  private trackWrites(writer: PolicyWriter): PolicyWriter {
    const note = (namespace: string, name: string, policy: Policy | null) => {
      // The watch may have shown this write already: then the cache is as new or newer. A delete
      // of a policy this replica created before the watch showed it must replace that create.
      const cached = this.policyIndex.get(namespace)?.get(name);
      const noted = this.overlay.get(namespace)?.has(name) ?? false;
      if (policy === null ? cached === undefined && !noted : cached?.metadata.resourceVersion === policy.metadata.resourceVersion) return;
      let pending = this.overlay.get(namespace);
      if (!pending) this.overlay.set(namespace, (pending = new Map()));
      pending.set(name, { policy, at: performance.now() });
    };
    const remember = (p: Policy) => {
      note(p.metadata.namespace, p.metadata.name, p);
      return p;
    };
    return {
      create: async (p) => remember(await writer.create(p)),
      apply: async (p) => remember(await writer.apply(p)),
      replace: async (p, live) => remember(await writer.replace(p, live)),
      remove: async (live) => {
        await writer.remove(live);
        note(live.metadata.namespace, live.metadata.name, null);
      },
      get: (ns, name) => writer.get(ns, name),
    };
  }

  private async reconcile(key: string) {
    const plan = this.planner.current;
    if (!plan) return requeueAfter(100);
    const { log, metrics } = this.options;
    if (key.startsWith(NAMESPACE_KEY)) {
      const namespace = key.slice(NAMESPACE_KEY.length);
      const ns = this.namespaces.get(namespace);
      if (!ns) return;
      if (ns.metadata.deletionTimestamp) {
        // Terminating: its policies go with it (writing there would be refused), but a member
        // label the plan no longer wants goes now, or the tenant keeps admitting it meanwhile.
        if (plan.labelsMembers && plan.memberOf.get(namespace) === undefined && this.memberLabelOf(namespace) !== undefined) {
          await this.memberWriter.setMember(namespace, null, ns.metadata.uid);
        }
        return;
      }
      let outcome;
      try {
        const member = plan.labelsMembers
          ? { have: this.memberLabelOf(namespace), want: plan.memberOf.get(namespace), uid: ns.metadata.uid, writer: this.memberWriter }
          : undefined;
        outcome = await reconcileNamespace(namespace, {
          plan,
          policies: this.reader,
          writer: this.policyWriter,
          recorder: this.recorder,
          memory: this.memory,
          hasPods: this.podCounts.has(namespace),
          ...(member ? { member } : {}),
        });
      } finally {
        // Their status reports failures (and recoveries) of this namespace's writes.
        for (const tenant of plan.claimants.get(namespace) ?? []) this.queue?.addAfter(TENANT_KEY + tenant, STATUS_COALESCE_MS);
      }
      if (outcome.driftCorrected.length > 0) metrics.driftCorrections.inc(outcome.driftCorrected.length);
      const changed = outcome.created.length + outcome.updated.length + outcome.driftCorrected.length + outcome.pruned.length + (outcome.memberLabel !== undefined ? 1 : 0);
      if (changed > 0 || outcome.blocked.length > 0) log.info('reconciled namespace', { namespace, ...outcome });
      return;
    }
    const name = key.slice(TENANT_KEY.length);
    const outcome = await reconcileTenant(name, {
      plan,
      tenants: { tenant: (n) => this.tenants.get(n) },
      policies: this.reader,
      writer: this.statusWriter,
      recorder: this.recorder,
      memory: this.memory,
      now: () => new Date(),
    });
    if (outcome.wrote) {
      const ready = outcome.status?.conditions?.find((c) => c.type === 'Ready');
      log.info('status updated', { tenant: name, ready: ready?.status, reason: ready?.reason });
    }
    return;
  }

  private updateGauges(): void {
    const { metrics } = this.options;
    const plan = this.planner.current;
    metrics.tenants.set(this.tenants.list().length);
    metrics.memberNamespaces.set(plan ? plan.result.tenants.reduce((n, t) => n + t.members.length, 0) : 0);
    metrics.managedPolicies.set(this.policies.list().length);
    metrics.queueDepth.set(this.queue?.depth ?? 0);
  }
}
