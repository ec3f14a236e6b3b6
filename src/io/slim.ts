/**
 * What the offline commands keep of each object they read. A `kubectl get -o json` dump of
 * real Pods is mostly what netfence never looks at (container specs, env, volumes,
 * managedFields); keeping it whole made a 200 MB dump need over 4 GB. Each object is cut
 * down as soon as it is parsed, before the next one is.
 *
 * Guarantees: every field that src/io/inputs.ts validates or that the compiler and the
 * analysis read is kept exactly as it was, wrong types included, so validation still sees
 * (and reports) a malformed value. Workloads keep their metadata and, of their pod template,
 * what a Pod keeps. Kinds netfence does not read keep only what names them.
 */
import { API_VERSION, KIND } from '../api/constants.js';
import { isRecord } from '../core/objects.js';
import { WORKLOAD_KINDS, type WorkloadKind } from './workloads.js';

/** Kinds read whole: small, and validated strictly. */
const WHOLE = new Set([`${API_VERSION}/${KIND}`, 'v1/Namespace', 'networking.k8s.io/v1/NetworkPolicy']);

function pick(from: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (from[k] !== undefined) out[k] = from[k];
  return out;
}

function metadata(md: unknown): unknown {
  if (!isRecord(md)) return md;
  const { managedFields: _dropped, ...rest } = md;
  return rest;
}

/** A pod spec cut to hostNetwork and the containers' names and ports. */
function slimPodSpec(spec: unknown): unknown {
  if (!isRecord(spec)) return spec;
  const s = pick(spec, ['hostNetwork']);
  const containers = spec.containers;
  if (containers !== undefined) s.containers = Array.isArray(containers) ? (containers as unknown[]).map((c) => (isRecord(c) ? pick(c, ['name', 'ports']) : c)) : containers;
  return s;
}

/** A workload cut to its metadata and, along the path to its pod template, the template's labels and pod spec. */
function slimWorkload(obj: Record<string, unknown>, kind: WorkloadKind): Record<string, unknown> {
  const out = pick(obj, ['apiVersion', 'kind']);
  if (obj.metadata !== undefined) out.metadata = metadata(obj.metadata);
  let from: unknown = obj;
  let to = out;
  for (const [i, key] of kind.templatePath.entries()) {
    if (!isRecord(from) || from[key] === undefined) break;
    const next = from[key];
    if (!isRecord(next)) {
      to[key] = next;
      break;
    }
    if (i === kind.templatePath.length - 1) {
      const t: Record<string, unknown> = {};
      if (isRecord(next.metadata)) t.metadata = pick(next.metadata, ['labels']);
      else if (next.metadata !== undefined) t.metadata = next.metadata;
      if (next.spec !== undefined) t.spec = slimPodSpec(next.spec);
      to[key] = t;
    } else {
      to = to[key] = {} as Record<string, unknown>;
    }
    from = next;
  }
  return out;
}

function slimPod(pod: Record<string, unknown>): Record<string, unknown> {
  const out = pick(pod, ['apiVersion', 'kind']);
  if (pod.metadata !== undefined) out.metadata = metadata(pod.metadata);
  if (pod.spec !== undefined) out.spec = slimPodSpec(pod.spec);
  const status = pod.status;
  if (status !== undefined) out.status = isRecord(status) ? pick(status, ['podIP', 'podIPs', 'phase']) : status;
  return out;
}

/** The part of an object read from the input that netfence keeps. */
export function slim(obj: unknown): unknown {
  if (!isRecord(obj)) return obj;
  const type = `${String(obj.apiVersion)}/${String(obj.kind)}`;
  if (WHOLE.has(type)) return obj;
  if (type === 'v1/Pod') return slimPod(obj);
  const workload = WORKLOAD_KINDS.get(type);
  if (workload !== undefined) return slimWorkload(obj, workload);
  if (typeof obj.kind === 'string' && obj.kind.endsWith('List')) return obj;
  const out = pick(obj, ['apiVersion', 'kind']);
  if (isRecord(obj.metadata)) out.metadata = pick(obj.metadata, ['name', 'namespace']);
  return out;
}
