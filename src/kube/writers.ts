/**
 * The reconcilers' writers on a real API server: NetworkPolicies (create, server-side apply,
 * replace, delete with preconditions), the member label of Namespaces (a merge patch of that
 * one label), TenantIsolation status (server-side apply on the status subresource) and Events
 * (core/v1, batched).
 *
 * Every call is one request through `KubeClient`; failures surface as `ApiError`s for the
 * queue to retry. `onWrite` counts requests by verb for the metrics. The writers take no
 * signal of their own: build them on `withSignal(client, signal)` (client.ts) and every
 * request they make is cancelled with that signal.
 */
import { API_VERSION, CONFLICT_ANNOTATION, FIELD_MANAGER, KIND, MANAGED_BY_VALUE, MEMBER_LABEL } from '../api/constants.js';
import type { TenantIsolationStatus } from '../api/types.js';
import { formatTime } from '../core/time.js';
import { isAborted, isApiError, RESOURCES, resourcePath, type KubeClient } from './client.js';
import type { Logger } from '../runtime/log.js';
import { tenantOwners } from '../compiler/ownership.js';
import { involvedObject, type MemberLabelWriter, type Policy, type PolicyWriter, type Recorder, type StatusWriter, type TenantRef } from '../controller/reconcile.js';

export type WriteVerb = 'create' | 'apply' | 'replace' | 'delete' | 'label' | 'status' | 'event';

const APPLY = 'application/apply-patch+yaml';

export function kubePolicyWriter(client: KubeClient, onWrite: (verb: WriteVerb) => void = () => undefined): PolicyWriter {
  const path = (namespace: string, name?: string) => resourcePath(RESOURCES.networkPolicies, { namespace, ...(name ? { name } : {}) });
  const body = (p: Policy) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: p.metadata, spec: p.spec });
  return {
    async create(policy) {
      onWrite('create');
      return client.request<Policy>({ method: 'POST', path: path(policy.metadata.namespace), query: { fieldManager: FIELD_MANAGER }, body: body(policy) });
    },
    async apply(policy, live) {
      onWrite('apply');
      const applied = body(policy);
      if (live?.metadata.uid) applied.metadata = { ...applied.metadata, uid: live.metadata.uid };
      return client.request<Policy>({
        method: 'PATCH',
        path: path(policy.metadata.namespace, policy.metadata.name),
        query: { fieldManager: FIELD_MANAGER, force: true },
        contentType: APPLY,
        body: applied,
      });
    },
    async replace(policy, live) {
      onWrite('replace');
      // Keep what others hang on the object (labels, annotations, non-tenant owners); reset the rest.
      const annotations: Record<string, string> = { ...live.metadata.annotations, ...policy.metadata.annotations };
      if (policy.metadata.annotations?.[CONFLICT_ANNOTATION] === undefined) delete annotations[CONFLICT_ANNOTATION];
      const foreignOwners = (live.metadata.ownerReferences ?? []).filter((ref) => !tenantOwners(live).includes(ref));
      const metadata = {
        name: policy.metadata.name,
        namespace: policy.metadata.namespace,
        resourceVersion: live.metadata.resourceVersion,
        labels: { ...live.metadata.labels, ...policy.metadata.labels },
        annotations,
        ownerReferences: [...foreignOwners, ...(policy.metadata.ownerReferences ?? [])],
      };
      return client.request<Policy>({
        method: 'PUT',
        path: path(policy.metadata.namespace, policy.metadata.name),
        query: { fieldManager: FIELD_MANAGER },
        body: { ...body(policy), metadata },
      });
    },
    async remove(live) {
      onWrite('delete');
      try {
        await client.request({
          method: 'DELETE',
          path: path(live.metadata.namespace, live.metadata.name),
          body: {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            preconditions: { uid: live.metadata.uid, resourceVersion: live.metadata.resourceVersion },
          },
        });
      } catch (error) {
        if (!isApiError(error, 404)) throw error;
      }
    },
    async get(namespace, name) {
      try {
        return await client.request<Policy>({ method: 'GET', path: path(namespace, name) });
      } catch (error) {
        if (isApiError(error, 404)) return undefined;
        throw error;
      }
    },
  };
}

/**
 * Sets or removes MEMBER_LABEL with a JSON merge patch that names only that label, so every
 * other label stays as it is, whoever set it (a server-side apply could not remove a value
 * another manager wrote). The uid goes along: a namespace deleted and created again under the
 * same name since it was read is refused (422), not labelled.
 */
export function kubeMemberLabelWriter(client: KubeClient, onWrite: (verb: WriteVerb) => void = () => undefined): MemberLabelWriter {
  return {
    async setMember(namespace, tenant, uid) {
      onWrite('label');
      await client.request({
        method: 'PATCH',
        path: resourcePath(RESOURCES.namespaces, { name: namespace }),
        query: { fieldManager: FIELD_MANAGER },
        contentType: 'application/merge-patch+json',
        body: { metadata: { ...(uid !== undefined ? { uid } : {}), labels: { [MEMBER_LABEL]: tenant } } },
      });
    },
  };
}

export function kubeStatusWriter(client: KubeClient, onWrite: (verb: WriteVerb) => void = () => undefined): StatusWriter {
  return {
    async applyStatus(name: string, status: TenantIsolationStatus) {
      onWrite('status');
      await client.request({
        method: 'PATCH',
        path: resourcePath(RESOURCES.tenantIsolations, { name, subresource: 'status' }),
        query: { fieldManager: FIELD_MANAGER, force: true },
        contentType: APPLY,
        body: { apiVersion: API_VERSION, kind: KIND, metadata: { name }, status },
      });
    },
  };
}

export interface EventRecorderOptions {
  client: KubeClient;
  log: Logger;
  /** Name of this replica, in `reportingInstance`. */
  instance: string;
  /** Events of the same tenant, type and reason within this window become one Event. Default 3000. */
  flushIntervalMs?: number;
  onWrite?: (verb: WriteVerb) => void;
}

const MAX_MESSAGE = 1024;

/**
 * Batches Events: messages for the same tenant, type and reason within one window are joined
 * into one Event with a count, so onboarding a thousand namespaces writes a few Events per
 * tenant, not thousands. An Event that cannot be written is logged and dropped.
 * `discard()` (a lost lease) drops what is pending, aborts the writes in flight and ignores
 * every later Event until `resume()`: a replica that no longer leads writes no Event.
 */
export class EventRecorder implements Recorder {
  private readonly pending = new Map<string, { ref: TenantRef; type: 'Normal' | 'Warning'; reason: string; messages: string[]; first: Date }>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<void>>();
  private seq = 0;
  /** Aborted by `discard()`: every Event write takes its signal. */
  private writes = new AbortController();
  private discarding = false;

  constructor(private readonly options: EventRecorderOptions) {}

  event(tenants: readonly TenantRef[], type: 'Normal' | 'Warning', reason: string, message: string): void {
    if (this.discarding) return;
    for (const ref of tenants) {
      const key = `${ref.uid}/${type}/${reason}`;
      const entry = this.pending.get(key);
      if (entry) entry.messages.push(message);
      else this.pending.set(key, { ref, type, reason, messages: [message], first: new Date() });
    }
    this.timer ??= setTimeout(() => void this.flush(), this.options.flushIntervalMs ?? 3000);
  }

  /**
   * Writes what is pending now; resolves when every write so far has finished. `signal`
   * bounds this batch's writes (a shutdown's deadline): aborted, they are dropped.
   */
  async flush(signal?: AbortSignal): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = [...this.pending.values()];
    this.pending.clear();
    const writes = signal ? AbortSignal.any([this.writes.signal, signal]) : this.writes.signal;
    for (const entry of batch) {
      const write = this.write(entry, writes).finally(() => this.inFlight.delete(write));
      this.inFlight.add(write);
    }
    await Promise.all([...this.inFlight]);
  }

  /** Drops pending Events, aborts the writes in flight, and ignores Events until `resume()`. Resolves once no write is in flight. */
  async discard(reason?: unknown): Promise<void> {
    this.discarding = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
    this.writes.abort(reason ?? new Error('events discarded'));
    await Promise.all([...this.inFlight]);
  }

  /** Records Events again after `discard()`. */
  resume(): void {
    this.discarding = false;
    if (this.writes.signal.aborted) this.writes = new AbortController();
  }

  private async write(entry: { ref: TenantRef; type: 'Normal' | 'Warning'; reason: string; messages: string[]; first: Date }, signal: AbortSignal): Promise<void> {
    const { client, log } = this.options;
    // The API server takes core/v1 Events about cluster-scoped objects in `default` only.
    const namespace = 'default';
    const shown = entry.messages.slice(0, 5).join('; ');
    const more = entry.messages.length > 5 ? ` (and ${entry.messages.length - 5} more)` : '';
    let message = shown + more;
    if (message.length > MAX_MESSAGE) message = `${message.slice(0, MAX_MESSAGE - 1)}…`;
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${entry.ref.name}.${Date.now().toString(16)}${(this.seq++).toString(16)}`, namespace },
      involvedObject: involvedObject(entry.ref),
      type: entry.type,
      reason: entry.reason,
      message,
      count: entry.messages.length,
      firstTimestamp: formatTime(entry.first),
      lastTimestamp: formatTime(new Date()),
      source: { component: MANAGED_BY_VALUE },
      reportingComponent: MANAGED_BY_VALUE,
      reportingInstance: this.options.instance,
    };
    if (signal.aborted) return;
    this.options.onWrite?.('event');
    try {
      await client.request({ method: 'POST', path: resourcePath(RESOURCES.events, { namespace }), body: event, signal });
    } catch (error) {
      log[isAborted(error) ? 'debug' : 'warn']('could not write Event', { tenant: entry.ref.name, reason: entry.reason, error: (error as Error).message });
    }
  }

  async close(): Promise<void> {
    await this.flush();
  }
}
