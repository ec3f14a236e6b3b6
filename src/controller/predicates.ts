/**
 * The event filters of the controller: which cache changes can alter the plan, and which only
 * ask for a namespace or a tenant to be looked at again. Pure functions of one change.
 *
 * Guarantees (each checked in test/unit/predicates.test.ts):
 * - A TenantIsolation's plan input is its spec (and uid): a change with the same uid and
 *   generation is a status write, which no plan reads.
 * - A Namespace's plan input is its labels but the member label (netfence's own output), and
 *   its uid; deletionTimestamp alone changes no plan (the reconciler stops writing there).
 * - A Pod's plan input is its `netfence.dev/expose-*` labels only (diagnostics); a pod without
 *   them before and after feeds nothing.
 */
import { EXPOSE_LABEL_PREFIX, MEMBER_LABEL } from '../api/constants.js';
import type { Change } from '../runtime/informer.js';

type Labels = Readonly<Record<string, string>> | undefined;
interface Meta {
  readonly metadata: { readonly name: string; readonly uid?: string | undefined; readonly generation?: number | undefined; readonly labels?: Labels };
}

/** Equal labels, leaving out `ignore`. */
export function sameLabels(a: Labels, b: Labels, ignore?: string): boolean {
  const ka = Object.keys(a ?? {}).filter((k) => k !== ignore);
  if (ka.length !== Object.keys(b ?? {}).filter((k) => k !== ignore).length) return false;
  return ka.every((k) => a?.[k] === b?.[k]);
}

export const hasExposeLabel = (labels: Labels): boolean => labels !== undefined && Object.keys(labels).some((k) => k.startsWith(EXPOSE_LABEL_PREFIX));

const oldOf = <T>(change: Change<T>): T | undefined => (change.type === 'upsert' ? change.old : undefined);

/** The same TenantIsolation with the same generation: only its status (or metadata) changed. */
export function tenantStatusOnly(change: Change<Meta>): boolean {
  const old = oldOf(change);
  return old !== undefined && old.metadata.uid === change.object.metadata.uid && old.metadata.generation === change.object.metadata.generation;
}

/** The namespace's member label differs from what the cache held (an upsert only). */
export function memberLabelChanged(change: Change<Meta>): boolean {
  return change.type === 'upsert' && change.old?.metadata.labels?.[MEMBER_LABEL] !== change.object.metadata.labels?.[MEMBER_LABEL];
}

/** A namespace deleted and created again under the same name while the cache watched. */
export function namespaceRecreated(change: Change<Meta>): boolean {
  const old = oldOf(change);
  return old !== undefined && old.metadata.uid !== change.object.metadata.uid;
}

/** Added, deleted, recreated, or its labels but the member label changed: the plan may change. */
export function namespacePlanInputChanged(change: Change<Meta>): boolean {
  if (change.type === 'resync') return false;
  const old = oldOf(change);
  return !(old && old.metadata.uid === change.object.metadata.uid && sameLabels(old.metadata.labels, change.object.metadata.labels, MEMBER_LABEL));
}

/** A pod whose exposure labels appeared, changed or went (added or deleted with some included). */
export function podExposureChanged(change: Change<Meta>): boolean {
  if (change.type === 'resync') return false;
  const before = oldOf(change)?.metadata.labels;
  const after = change.object.metadata.labels;
  if (!hasExposeLabel(after) && !hasExposeLabel(before)) return false;
  return !(change.type === 'upsert' && change.old && sameLabels(before, after));
}

/** How the change moves the count of pods in its namespace: +1 added, -1 deleted, 0 otherwise. */
export function podCountDelta(change: Change<unknown>): -1 | 0 | 1 {
  if (change.type === 'delete') return -1;
  return change.type === 'upsert' && change.old === undefined ? 1 : 0;
}
