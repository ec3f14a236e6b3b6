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
 * - `lead(signal, { lost })` runs the queue until `signal` aborts. Only the leader runs it.
 *
 * Guarantees: nothing is written before every cache has listed once, so a half-read world
 * never prunes anything; a failed read keeps the caches as they were. Every API request of
 * a reconcile carries that reconcile's signal (its writers are built per reconcile on
 * `withSignal`). When `lost` aborts (the lease is gone), at once: the reconciles in flight
 * are cancelled (their requests aborted, none sent after), pending Events are dropped and
 * Event writes in flight aborted; a cancelled reconcile is not a reconcile failure. When only
 * `signal` aborts (SIGTERM), no key is handed out, the reconciles in flight get
 * `shutdownTimeoutMs` and are then cancelled, and pending Events are written within 5 s.
 */
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, EXPOSE_LABEL_PREFIX, MEMBER_LABEL, POLICY_NAMES } from '../api/constants.js';
import type { DeepReadonly, Namespace, NetworkPolicy } from '../api/k8s.js';
import type { TenantIsolation } from '../api/types.js';
import type { PodLabels } from '../compiler/compile.js';
import type { CompilerSettings } from '../compiler/settings.js';
import { Interner } from '../core/objects.js';
import { RESOURCES, withSignal, type KubeClient } from '../kube/client.js';
import { createInformer, type Change, type Informer, type InformerOptions } from '../runtime/informer.js';
import { EventRecorder, kubeMemberLabelWriter, kubePolicyWriter, kubeStatusWriter, type WriteVerb } from '../kube/writers.js';
import type { Logger } from '../runtime/log.js';
import { TENANT_STATES, tenantState, type Metrics, type TenantState } from '../runtime/metrics.js';
import { namespaceKey, parseKey, tenantKey, type WorkKey } from './keys.js';
import { OwnWrites } from './overlay.js';
import { Planner, type Plan } from './planner.js';
import { hasExposeLabel, memberLabelChanged, namespacePlanInputChanged, namespaceRecreated, podCountDelta, podExposureChanged, tenantStatusOnly } from './predicates.js';
import { tenantOwners } from '../compiler/ownership.js';
import { ReconcileMemory, reconcileNamespace, reconcileTenant, type MemberLabelWriter, type Policy, type PolicyReader, type PolicyWriter, type StatusWriter } from './reconcile.js';
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
  /** Retry cap of a namespace without its deny. Default UNFENCED_RETRY_MAX_MS. */
  unfencedRetryMaxMs?: number;
  eventFlushIntervalMs?: number;
}

type Meta = {
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; generation?: number; labels?: Record<string, string>; deletionTimestamp?: string };
};
type NamespaceMeta = DeepReadonly<Namespace & Meta>;
type PodMeta = DeepReadonly<Meta & { metadata: { namespace: string } }>;
type Tenant = DeepReadonly<TenantIsolation>;

/** The own-write overlay's name for a namespace's member label (policy names hold no colon). */
const LABEL_ENTRY = ':member-label';
/**
 * A namespace whose deny the plan wants but the cluster lacks is open to every tenant: its key
 * retries at least this often, whatever the error (a refusal that is terminal for other keys
 * included), and not at the queue's ~1000 s cap.
 */
export const UNFENCED_RETRY_MAX_MS = 10_000;
/** The policy cache's index of policies by namespace. */
const BY_NAMESPACE = 'namespace';
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
  const metadata: Meta['metadata'] = { name: m.name, namespace: m.namespace };
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

export class Operator {
  readonly tenants: Informer<Tenant>;
  readonly namespaces: Informer<NamespaceMeta>;
  readonly pods: Informer<PodMeta>;
  readonly policies: Informer<DeepReadonly<NetworkPolicy>>;
  readonly planner: Planner;
  private readonly memory = new ReconcileMemory();
  private readonly recorder: EventRecorder;
  /** namespace -> pods the cache holds there (namespaces without any are absent). */
  private readonly podCounts = new Map<string, number>();
  /**
   * Own writes the caches have not shown yet (overlay.ts): namespace -> policy name -> the
   * policy written (null: deleted); and namespace -> LABEL_ENTRY -> the member label written
   * (null: removed), which goes with the namespace's next event.
   */
  private readonly ownWrites = new OwnWrites<Policy>();
  private readonly ownLabels = new OwnWrites<string>();
  /** The writers of one reconcile: every request they make carries its signal. */
  private readonly writers: (signal: AbortSignal) => { policy: PolicyWriter; member: MemberLabelWriter; status: StatusWriter };
  private queue: WorkQueue<WorkKey> | undefined;
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
    this.namespaces = createInformer<NamespaceMeta>({ ...common('namespaces'), resource: RESOURCES.namespaces, metadataOnly: true, transform: (raw) => trimNamespace(raw) });
    this.pods = createInformer<PodMeta>({ ...common('pods'), resource: RESOURCES.pods, metadataOnly: true, transform: (raw) => trimPod(raw) as PodMeta });
    const parts = new Interner();
    this.policies = createInformer<DeepReadonly<NetworkPolicy>>({
      ...common('networkpolicies'),
      resource: RESOURCES.networkPolicies,
      labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
      transform: (raw) => trimPolicy(raw, parts),
      indexers: { [BY_NAMESPACE]: (p) => [p.metadata.namespace] },
    });

    this.recorder = new EventRecorder({
      client,
      log,
      instance: options.identity,
      ...(options.eventFlushIntervalMs !== undefined ? { flushIntervalMs: options.eventFlushIntervalMs } : {}),
      onWrite,
    });
    this.writers = (signal) => {
      const bound = withSignal(client, signal);
      return {
        policy: this.trackWrites(kubePolicyWriter(bound, onWrite)),
        member: this.trackLabels(kubeMemberLabelWriter(bound, onWrite)),
        status: kubeStatusWriter(bound, onWrite),
      };
    };
    this.planner = new Planner({
      read: () => ({
        tenants: this.tenants.list(),
        namespaces: this.namespaces.list(),
        pods: this.exposedPods(),
        settings: options.settings,
      }),
      onPlan: (plan, changes) => {
        metrics.planDuration.observe(plan.durationMs / 1000);
        this.onPlan(plan, changes);
      },
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
   * Reconciles until `signal` aborts, then stops (see the module comment): at once when
   * `lost` has aborted or aborts meanwhile, else after the reconciles in flight have ended or
   * run `shutdownTimeoutMs` (default 10 s). Call after `start`; waits for the caches first.
   */
  async lead(signal: AbortSignal, options: { lost?: AbortSignal; shutdownTimeoutMs?: number } = {}): Promise<void> {
    const { log, metrics } = this.options;
    const { lost } = options;
    await this.waitForSync(signal);
    if (signal.aborted) return;
    this.recorder.resume();
    log.info('caches synced; reconciling', {
      tenants: this.tenants.list().length,
      namespaces: this.namespaces.list().length,
      pods: this.pods.list().length,
      policies: this.policies.list().length,
    });
    // The queue's signal (shutdown) and the lease's (lost) in one, made once: every request
    // of a reconcile stops the moment either aborts.
    let stopped: AbortSignal | undefined;
    const queue = new WorkQueue<WorkKey>((key, cancelled) => this.reconcile(key, (stopped ??= lost ? AbortSignal.any([cancelled, lost]) : cancelled)), {
      concurrency: this.options.concurrency ?? 4,
      ...this.options.retry,
      retryBound: (key) => {
        const parsed = parseKey(key);
        return parsed.kind === 'namespace' && this.unfenced(parsed.name) ? (this.options.unfencedRetryMaxMs ?? UNFENCED_RETRY_MAX_MS) : undefined;
      },
      onResult: (key, outcome, durationMs, error) => {
        const { kind } = parseKey(key);
        metrics.reconcileDuration.observe({ kind, result: outcome }, durationMs / 1000);
        metrics.queueDepth.set(queue.depth);
        if (error !== undefined) {
          metrics.reconcileErrors.inc({ kind });
          log.warn('reconcile failed', { key, outcome, error: (error as Error).message });
        }
      },
    });
    this.queue = queue;
    // Lease lost: nothing more may reach the API server, neither a reconcile's request nor an
    // Event; from the first key on (the plan below takes a while on a large cluster).
    const cancel = () => Promise.all([queue.shutDown({ abortInFlight: true, reason: lost?.reason }), this.recorder.discard(lost?.reason)]);
    const onLost = () => void cancel();
    lost?.addEventListener('abort', onLost, { once: true });
    queue.start();
    // A standby (or a replica whose caches were filling) planned before it led: whatever
    // those plans changed was queued nowhere. Take everything once, from a plan read now
    // (in slices: a whole-cluster plan must not block the probes).
    await this.planner.planSliced();
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
    if (lost?.aborted) {
      await cancel();
    } else {
      try {
        const timeoutMs = options.shutdownTimeoutMs ?? 10_000;
        await queue.shutDown({ abortAfterMs: timeoutMs, reason: new Error(`reconciles still running after the shutdown timeout (${timeoutMs} ms)`) });
        const flushBound = AbortSignal.timeout(5_000);
        await this.recorder.flush(lost ? AbortSignal.any([flushBound, lost]) : flushBound);
      } finally {
        lost?.removeEventListener('abort', onLost);
      }
      if (lost?.aborted) await cancel();
    }
    this.queue = undefined;
    log.info(lost?.aborted ? 'stopped reconciling: lease lost, reconciles in flight cancelled and pending Events dropped' : 'stopped reconciling');
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
    const namespaces = new Set<string>([...(plan?.desired.keys() ?? []), ...(plan?.memberOf.keys() ?? [])]);
    for (const p of this.policies.list()) namespaces.add(p.metadata.namespace);
    if (plan?.labelsMembers) for (const ns of this.namespaces.list()) if (ns.metadata.labels?.[MEMBER_LABEL] !== undefined) namespaces.add(ns.metadata.name);
    for (const ns of namespaces) this.addNamespace(ns);
    for (const t of this.tenants.list()) queue.add(tenantKey(t.metadata.name));
    this.sweepMemory(namespaces);
  }

  /** Forgets what the reconcilers remembered about namespaces and tenants that are gone. */
  private sweepMemory(namespaces: ReadonlySet<string>): void {
    this.memory.sweep(namespaces, (name) => this.tenants.get(name) !== undefined);
    this.ownWrites.sweep();
    this.ownLabels.sweep();
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
    for (const t of changes.tenants) queue.add(tenantKey(t));
    this.updateGauges();
  }

  /** The plan fences the namespace (wants its deny) and the cluster, as this replica sees it, has none. */
  private unfenced(namespace: string): boolean {
    const plan = this.planner.current;
    return (plan?.desired.get(namespace)?.has(POLICY_NAMES.defaultDeny) ?? false) && !this.reader.policiesIn(namespace).has(POLICY_NAMES.defaultDeny);
  }

  /**
   * Queues a namespace. Urgent, ahead of everything else: one the plan fences that has no deny
   * yet, and one whose member label differs from the plan's while it carries one (a forged or
   * stale label admits it into that tenant's rules until it goes).
   */
  private addNamespace(namespace: string): void {
    const plan = this.planner.current;
    const label = plan?.labelsMembers ? this.memberLabelOf(namespace) : undefined;
    this.queue?.add(namespaceKey(namespace), this.unfenced(namespace) || (label !== undefined && label !== plan?.memberOf.get(namespace)));
  }

  private onTenant(change: Change<Tenant>): void {
    // A status write (ours, now visible) or a resync: the tenant reconciler compares against
    // the cached status, so look again; a status computed while the cache still showed an
    // older one would otherwise never be written. Costs no write when nothing changed.
    if (change.type === 'resync' || tenantStatusOnly(change)) {
      this.queue?.add(tenantKey(change.object.metadata.name));
      return;
    }
    this.planner.markDirty();
  }

  private onNamespace(change: Change<NamespaceMeta>): void {
    if (change.type === 'resync') return;
    const name = change.object.metadata.name;
    this.ownLabels.seenGroup(name);
    // The member label is netfence's output, not the plan's input: a namespace that shows up
    // with one or has it changed is looked at against the plan (our own write costs a look and
    // no write), so a forged or stale label goes however the plan changes.
    if (memberLabelChanged(change) && this.planner.current?.labelsMembers) this.addNamespace(name);
    // A namespace that only starts terminating needs no new plan, but its writes stop.
    if (!namespacePlanInputChanged(change)) return;
    // Deleted and created again under the same name: reconcile it whatever the plan says.
    if (namespaceRecreated(change)) this.addNamespace(name);
    this.planner.markDirty();
  }

  private onPod(change: Change<PodMeta>): void {
    const ns = change.object.metadata.namespace;
    const delta = podCountDelta(change);
    if (delta !== 0) {
      const count = (this.podCounts.get(ns) ?? 0) + delta;
      if (count > 0) this.podCounts.set(ns, count);
      else this.podCounts.delete(ns);
    }
    // Only exposure labels feed the plan (as diagnostics).
    if (podExposureChanged(change)) this.planner.markDirty();
  }

  private onPolicy(change: Change<DeepReadonly<NetworkPolicy>>): void {
    const p = change.object;
    const ns = p.metadata.namespace;
    if (change.type !== 'resync') this.ownWrites.seen(ns, p.metadata.name);
    const queue = this.queue;
    if (!queue) return;
    this.addNamespace(ns);
    for (const owner of tenantOwners(p)) queue.addAfter(tenantKey(owner.name), STATUS_COALESCE_MS);
    // Tenants that claim the namespace report on its policies too (an Audit plan, conflicts).
    for (const tenant of this.planner.current?.claimants.get(ns) ?? []) queue.addAfter(tenantKey(tenant), STATUS_COALESCE_MS);
  }

  /** The policy cache with this replica's own recent writes laid over it. */
  private readonly reader: PolicyReader = {
    policiesIn: (namespace) => {
      const byName = new Map<string, Policy>();
      for (const p of this.policies.byIndex(BY_NAMESPACE, namespace).values()) byName.set(p.metadata.name, p);
      return this.ownWrites.overlay(namespace, byName);
    },
  };

  /** The member label of a namespace: this replica's write the cache has not shown yet, else the cache's. */
  private memberLabelOf(namespace: string): string | undefined {
    const pending = this.ownLabels.get(namespace, LABEL_ENTRY);
    if (pending !== undefined) return pending.value ?? undefined;
    return this.namespaces.get(namespace)?.metadata.labels?.[MEMBER_LABEL];
  }

  private trackLabels(writer: MemberLabelWriter): MemberLabelWriter {
    return {
      setMember: async (namespace, tenant, uid) => {
        await writer.setMember(namespace, tenant, uid);
        if (this.namespaces.get(namespace)?.metadata.labels?.[MEMBER_LABEL] !== (tenant ?? undefined)) this.ownLabels.wrote(namespace, LABEL_ENTRY, tenant);
      },
    };
  }

  private trackWrites(writer: PolicyWriter): PolicyWriter {
    const note = (namespace: string, name: string, policy: Policy | null) => {
      // The watch may have shown this write already: then the cache is as new or newer. A delete
      // of a policy this replica created before the watch showed it must replace that create.
      const cached = this.policies.get(`${namespace}/${name}`);
      const noted = this.ownWrites.get(namespace, name) !== undefined;
      if (policy === null ? cached === undefined && !noted : cached?.metadata.resourceVersion === policy.metadata.resourceVersion) return;
      this.ownWrites.wrote(namespace, name, policy);
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

  /** Reconciles one key; `signal` (the queue's) cancels every request it makes. */
  private async reconcile(key: WorkKey, signal: AbortSignal) {
    const plan = this.planner.current;
    if (!plan) return requeueAfter(100);
    const { log, metrics } = this.options;
    const writers = this.writers(signal);
    const parsed = parseKey(key);
    if (parsed.kind === 'namespace') {
      const namespace = parsed.name;
      const ns = this.namespaces.get(namespace);
      const statusOf = (tenants: Iterable<string>) => {
        for (const tenant of tenants) this.queue?.addAfter(tenantKey(tenant), STATUS_COALESCE_MS);
      };
      if (!ns) {
        // Gone: nothing of it is failing any more; the tenants it concerned say so.
        statusOf(this.memory.forgetNamespace(namespace));
        return;
      }
      if (ns.metadata.deletionTimestamp) {
        // Terminating: its policies go with it (writing there would be refused), but a member
        // label the plan no longer wants goes now, or the tenant keeps admitting it meanwhile.
        if (plan.labelsMembers && plan.memberOf.get(namespace) === undefined && this.memberLabelOf(namespace) !== undefined) {
          await writers.member.setMember(namespace, null, ns.metadata.uid);
        }
        statusOf(this.memory.forgetNamespace(namespace));
        return;
      }
      // A label failure names the tenant whose stale label the namespace carries, which may claim it no more.
      const labelTenants = this.memory.labelFailures.get(namespace)?.tenants ?? [];
      let outcome;
      try {
        const member = plan.labelsMembers ? { have: this.memberLabelOf(namespace), want: plan.memberOf.get(namespace), uid: ns.metadata.uid, writer: writers.member } : undefined;
        outcome = await reconcileNamespace(namespace, {
          plan,
          policies: this.reader,
          writer: writers.policy,
          recorder: this.recorder,
          memory: this.memory,
          hasPods: this.podCounts.has(namespace),
          ...(member ? { member } : {}),
        });
      } finally {
        // Their status reports failures (and recoveries) of this namespace's writes.
        statusOf(new Set([...(plan.claimants.get(namespace) ?? []), ...labelTenants, ...(this.memory.labelFailures.get(namespace)?.tenants ?? [])]));
      }
      if (outcome.driftCorrected.length > 0) metrics.driftCorrections.inc(outcome.driftCorrected.length);
      const changed = outcome.created.length + outcome.updated.length + outcome.driftCorrected.length + outcome.pruned.length + (outcome.memberLabel !== undefined ? 1 : 0);
      if (changed > 0 || outcome.blocked.length > 0) log.info('reconciled namespace', { namespace, ...outcome });
      return;
    }
    const name = parsed.name;
    const outcome = await reconcileTenant(name, {
      plan,
      tenants: { tenant: (n) => this.tenants.get(n) },
      policies: this.reader,
      writer: writers.status,
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
    const tenants = this.tenants.list();
    metrics.tenants.set(tenants.length);
    // From the statuses in the cache (the leader's last writes), so every replica reports the same counts.
    const byState = new Map<TenantState, number>(TENANT_STATES.map((s) => [s, 0]));
    for (const t of tenants) {
      const state = tenantState(t);
      byState.set(state, (byState.get(state) ?? 0) + 1);
    }
    for (const [state, count] of byState) metrics.tenantsByState.set({ state }, count);
    metrics.memberNamespaces.set(plan ? plan.result.tenants.reduce((n, t) => n + t.members.length, 0) : 0);
    metrics.managedPolicies.set(this.policies.list().length);
    let unfenced = 0;
    for (const ns of plan?.desired.keys() ?? []) if (this.unfenced(ns)) unfenced++;
    // Only the leader's count: a standby's would add up with it in a sum over replicas.
    metrics.unfencedNamespaces.set(this.queue ? unfenced : 0);
    metrics.queueDepth.set(this.queue?.depth ?? 0);
  }
}
