/**
 * Workloads as the pods they make. A GitOps repository holds Deployments, not Pods: each
 * workload kind below stands, for the analysis, for the pods of its template, with the
 * workload's namespace, the template's labels, container ports and hostNetwork. Pure.
 *
 * Names: a workload's pods are named `<kind>/<name>` in lower case (`deployment/web`), which
 * no Pod can be named (Pod names are DNS subdomains: no `/`), so the two never collide and
 * reports can tell them apart.
 *
 * Labels: the template's, plus those the controller is documented to add with a value known
 * in advance: a Job's pods carry `batch.kubernetes.io/job-name` and `job-name` with the Job's
 * name. Labels whose value is generated (`pod-template-hash`, `controller-revision-hash`, a
 * CronJob's job names, a StatefulSet's pod names) are not guessed; the possible pods of the
 * analysis (src/analysis/possible-pods.ts) stand for pods with any value of them.
 *
 * Leaves out: workloads of other APIs (Argo Rollouts, Knative, operators' own kinds); their
 * pods are judged through the possible pods of their namespace only.
 */
import type { Pod } from '../api/k8s.js';
import { isRecord } from '../core/objects.js';

export interface WorkloadKind {
  /** Where the pod template is in the object. */
  templatePath: readonly string[];
}

/** Workload kinds by `apiVersion/kind`. */
export const WORKLOAD_KINDS: ReadonlyMap<string, WorkloadKind> = new Map([
  ['apps/v1/Deployment', { templatePath: ['spec', 'template'] }],
  ['apps/v1/StatefulSet', { templatePath: ['spec', 'template'] }],
  ['apps/v1/DaemonSet', { templatePath: ['spec', 'template'] }],
  ['apps/v1/ReplicaSet', { templatePath: ['spec', 'template'] }],
  ['batch/v1/Job', { templatePath: ['spec', 'template'] }],
  ['batch/v1/CronJob', { templatePath: ['spec', 'jobTemplate', 'spec', 'template'] }],
  ['v1/ReplicationController', { templatePath: ['spec', 'template'] }],
]);

/** The value at `path`, undefined where the path leaves the objects. */
export function valueAt(obj: unknown, path: readonly string[]): unknown {
  let v = obj;
  for (const key of path) v = isRecord(v) ? v[key] : undefined;
  return v;
}

/** The name a workload's pods go by in reports: `deployment/web`. */
export function workloadPodName(kind: string, name: string): string {
  return `${kind.toLowerCase()}/${name}`;
}

/** True for a pod name that stands for a workload's pods. */
export const isWorkloadPodName = (name: string): boolean => name.includes('/');

/** The pod a valid workload's template makes, as the analysis reads pods. */
export function workloadPod(obj: Record<string, unknown>, kind: WorkloadKind): Pod {
  const md = obj.metadata as { name: string; namespace: string };
  const template = valueAt(obj, kind.templatePath);
  const tmd = isRecord(template) && isRecord(template.metadata) ? template.metadata : {};
  const labels: Record<string, string> = { ...(isRecord(tmd.labels) ? (tmd.labels as Record<string, string>) : {}) };
  if (obj.kind === 'Job') {
    labels['batch.kubernetes.io/job-name'] = md.name;
    labels['job-name'] = md.name;
  }
  const spec = isRecord(template) && isRecord(template.spec) ? (template.spec as Pod['spec']) : undefined;
  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: md.namespace, name: workloadPodName(String(obj.kind), md.name), labels } };
  if (spec !== undefined) pod.spec = spec;
  return pod;
}
