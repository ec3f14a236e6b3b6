/**
 * The operator's Prometheus metrics, on a registry of their own (never prom-client's global
 * one, so tests and several operators in one process do not collide).
 *
 * Guarantees: every netfence metric is named `netfence_*` and has help text; the registry
 * also carries prom-client's default process and Node.js metrics (unprefixed, as dashboards
 * expect them). Label values are typed here; the caller sets them.
 * Leaves out: serving them (http.ts) and deciding when to update them (the controller).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CONDITION } from '../api/constants.js';

export type ReconcileKind = 'namespace' | 'tenant';
export type ReconcileResult = 'success' | 'requeue' | 'retry' | 'terminal';
export type ApiWriteVerb = 'create' | 'apply' | 'replace' | 'delete' | 'status' | 'event';

/**
 * The `state` label of netfence_tenants_by_state: one per tenant, the first that holds of
 * conflict (Conflict True), degraded (Degraded True), ready (Ready True for the current
 * generation), progressing (any other Ready), unknown (no Ready condition yet).
 */
export const TENANT_STATES = ['ready', 'progressing', 'degraded', 'conflict', 'unknown'] as const;
export type TenantState = (typeof TENANT_STATES)[number];

/** The state of a tenant as its last written status tells it (see TENANT_STATES). */
export function tenantState(tenant: {
  readonly metadata: { readonly generation?: number };
  readonly status?: { readonly observedGeneration?: number; readonly conditions?: readonly { readonly type: string; readonly status: string }[] };
}): TenantState {
  const conditions = tenant.status?.conditions ?? [];
  const isTrue = (type: string): boolean => conditions.some((c) => c.type === type && c.status === 'True');
  const ready = conditions.find((c) => c.type === CONDITION.ready);
  if (!ready) return 'unknown';
  if (isTrue(CONDITION.conflict)) return 'conflict';
  if (isTrue(CONDITION.degraded)) return 'degraded';
  const observed = tenant.status?.observedGeneration;
  const current = observed === undefined || tenant.metadata.generation === undefined || observed === tenant.metadata.generation;
  return ready.status === 'True' && current ? 'ready' : 'progressing';
}

/** Seconds; from a cache-only no-op to a slow API server. */
const RECONCILE_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Seconds; from a handful of namespaces to a sliced plan of tens of thousands. */
const PLAN_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface Metrics {
  registry: Registry;
  reconcileDuration: Histogram<'kind' | 'result'>;
  /** Wall time of each plan, from the read of the caches to its completion (slices and the gaps between them). */
  planDuration: Histogram;
  queueDepth: Gauge;
  apiWrites: Counter<'verb'>;
  driftCorrections: Counter;
  reconcileErrors: Counter<'kind'>;
  watchRestarts: Counter<'resource' | 'reason'>;
  tenants: Gauge;
  memberNamespaces: Gauge;
  /** Namespaces the plan fences whose default deny the cluster lacks: open to everyone meanwhile. */
  unfencedNamespaces: Gauge;
  managedPolicies: Gauge;
  /** Tenants by the state their status conditions tell (TENANT_STATES, every state always exported). */
  tenantsByState: Gauge<'state'>;
  leader: Gauge;
  /** Typed shorthands for the labelled metrics. */
  observeReconcile(kind: ReconcileKind, result: ReconcileResult, seconds: number): void;
  countWrite(verb: ApiWriteVerb): void;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  const reconcileDuration = new Histogram<'kind' | 'result'>({
    name: 'netfence_reconcile_duration_seconds',
    help: 'Time one reconcile took, by kind of key (namespace, tenant) and result (success, requeue, retry, terminal).',
    labelNames: ['kind', 'result'],
    buckets: RECONCILE_BUCKETS,
    registers,
  });
  const apiWrites = new Counter<'verb'>({
    name: 'netfence_api_writes_total',
    help: 'Write requests sent to the API server, by verb (create, apply, replace, delete, status, event).',
    labelNames: ['verb'],
    registers,
  });
  const reconcileErrors = new Counter<'kind'>({
    name: 'netfence_reconcile_errors_total',
    help: 'Reconciles that failed, retryable or terminal, by kind of key.',
    labelNames: ['kind'],
    registers,
  });
  const tenantsByState = new Gauge<'state'>({
    name: 'netfence_tenants_by_state',
    help: 'TenantIsolations by the state their last written status conditions tell: ready, progressing, degraded, conflict, unknown (not reconciled yet); one state each.',
    labelNames: ['state'],
    registers,
  });
  // Every state from the start, 0 included: an alert on `> 0` then has a series to look at.
  for (const state of TENANT_STATES) tenantsByState.set({ state }, 0);

  return {
    registry,
    reconcileDuration,
    planDuration: new Histogram({
      name: 'netfence_plan_duration_seconds',
      help: 'Wall time of each plan (the whole cluster compiled from one read of the caches), from the read to its completion.',
      buckets: PLAN_BUCKETS,
      registers,
    }),
    queueDepth: new Gauge({ name: 'netfence_queue_depth', help: 'Keys waiting in the work queue.', registers }),
    apiWrites,
    driftCorrections: new Counter({
      name: 'netfence_drift_corrections_total',
      help: 'Managed NetworkPolicies restored after someone edited or deleted them.',
      registers,
    }),
    reconcileErrors,
    watchRestarts: new Counter<'resource' | 'reason'>({
      name: 'netfence_watch_restarts_total',
      help: 'Watches restarted, by resource and reason (expired, error, idle, closed).',
      labelNames: ['resource', 'reason'],
      registers,
    }),
    tenants: new Gauge({ name: 'netfence_tenants', help: 'TenantIsolation resources known to the operator.', registers }),
    memberNamespaces: new Gauge({ name: 'netfence_member_namespaces', help: 'Namespaces that belong to a tenant.', registers }),
    unfencedNamespaces: new Gauge({
      name: 'netfence_unfenced_namespaces',
      help: 'Namespaces netfence must fence whose default-deny NetworkPolicy is missing: open to every tenant until it is written. Should be 0 but for seconds after a namespace joins.',
      registers,
    }),
    managedPolicies: new Gauge({ name: 'netfence_managed_policies', help: 'NetworkPolicies the operator maintains.', registers }),
    tenantsByState,
    leader: new Gauge({ name: 'netfence_leader', help: '1 while this replica holds the leader lease, else 0.', registers }),
    observeReconcile: (kind, result, seconds) => reconcileDuration.observe({ kind, result }, seconds),
    countWrite: (verb) => apiWrites.inc({ verb }),
  };
}
