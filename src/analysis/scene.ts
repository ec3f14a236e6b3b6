/**
 * What `check`, `matrix` and `explain` analyse: the cluster's objects, the NetworkPolicies
 * in force, and the tenants' fences. Pure.
 *
 * - `planned` (offline, from manifests): the policies in the input plus those netfence would
 *   maintain, and the namespaces with the member labels it would set, as the operator would
 *   leave them: a policy netfence owns (managed-by label and
 *   a TenantIsolation owner) is replaced by the generated one of that name or pruned; any
 *   other policy stays, and where it holds a name netfence generates, it wins (the operator
 *   never takes it over).
 *   A namespace a tenant names that the input lacks is taken as existing (see namedButMissing).
 * - `live` (from the cluster): the policies exactly as they are, nothing added: what is
 *   enforced now, drift and a lagging operator included.
 *
 * Pods: the input's Pods, its workloads' templates, and the possible pods of every namespace
 * (reachability.ts): a pass covers every pod that labels can make, not only those listed.
 */
import type { DeepReadonly, Namespace, NetworkPolicy, Pod } from '../api/k8s.js';
import type { TenantIsolation } from '../api/types.js';
import { compile, withMemberLabels, type CompileResult } from '../compiler/compile.js';
import type { CompilerSettings } from '../compiler/settings.js';
import { isNetfenceOwned } from '../compiler/ownership.js';
import { buildEvaluator, type Evaluator } from '../evaluator/index.js';
import { tenantFences, type Fences } from './fences.js';
import { buildReachability, type Reachability } from './reachability.js';

export interface SceneInput {
  tenants: readonly DeepReadonly<TenantIsolation>[];
  namespaces: readonly DeepReadonly<Namespace>[];
  pods: readonly DeepReadonly<Pod>[];
  /** The pods of workloads' templates, named `<kind>/<name>` (src/io/workloads.ts). */
  workloads?: readonly DeepReadonly<Pod>[];
  policies: readonly DeepReadonly<NetworkPolicy>[];
  settings: DeepReadonly<CompilerSettings>;
}

export interface Scene {
  /** The TenantIsolations analysed. */
  tenants: readonly DeepReadonly<TenantIsolation>[];
  compiled: CompileResult;
  /** The input's namespaces and those a tenant names that the input lacks (planned mode). */
  namespaces: readonly DeepReadonly<Namespace>[];
  /** The names of the namespaces added that way. */
  addedNamespaces: readonly string[];
  /** The input's Pods and workloads' pods; possible pods are in `reach.possiblePods`. */
  pods: readonly DeepReadonly<Pod>[];
  /** The policies analysed. */
  policies: readonly DeepReadonly<NetworkPolicy>[];
  fences: Fences;
  reach: Reachability;
  /** The point evaluator over the same objects, possible pods included; built on first use. */
  evaluator(): Evaluator;
  /** Things the reader should know about what was analysed. */
  notes: string[];
}

const keyOf = (p: DeepReadonly<NetworkPolicy>): string => `${p.metadata.namespace}/${p.metadata.name}`;

/** The policies in force once the operator has done its work on `input`. */
function plannedPolicies(input: SceneInput, compiled: CompileResult, notes: string[]): DeepReadonly<NetworkPolicy>[] {
  const kept = input.policies.filter((p) => !isNetfenceOwned(p));
  const keptKeys = new Set(kept.map(keyOf));
  const generated = compiled.policies.filter((p) => {
    if (!keptKeys.has(keyOf(p))) return true;
    notes.push(`NetworkPolicy ${keyOf(p)} in the input is not netfence's: the operator leaves it as it is, and it is analysed instead of the generated one`);
    return false;
  });
  return [...kept, ...generated];
}

/**
 * Namespaces a tenant names that the input does not hold. They are often created elsewhere
 * (Argo CD `CreateNamespace=true`, Terraform, another repository); the operator fences such a
 * namespace the moment it appears, so the analysis takes it as existing, with no labels but
 * its name. Settings that exclude a name still exclude it (the compiler decides).
 */
function namedButMissing(input: SceneInput): Namespace[] {
  const present = new Set(input.namespaces.map((n) => n.metadata.name));
  const out = new Map<string, Namespace>();
  for (const t of input.tenants) {
    for (const name of t.spec?.namespaces ?? []) {
      if (!present.has(name) && !out.has(name)) out.set(name, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    }
  }
  return [...out.values()];
}

export function buildScene(input: SceneInput, mode: 'planned' | 'live'): Scene {
  const notes: string[] = [];
  const added = mode === 'planned' ? namedButMissing(input) : [];
  const given = added.length === 0 ? input.namespaces : [...input.namespaces, ...added];
  const pods = [...input.pods, ...(input.workloads ?? [])];
  const compiled = compile({
    tenants: input.tenants,
    namespaces: given,
    pods: pods.map((p) => ({ namespace: p.metadata.namespace, name: p.metadata.name, labels: p.metadata.labels ?? {} })),
    settings: input.settings,
  });
  // Offline, the namespaces carry the member labels the operator would set; live, the labels they have.
  const namespaces = mode === 'planned' ? withMemberLabels(given, compiled, input.settings) : given;
  const policies = mode === 'planned' ? plannedPolicies(input, compiled, notes) : [...input.policies];
  const fences = tenantFences(input.tenants, compiled, input.settings);
  const reach = buildReachability({ namespaces, pods, policies }, fences);

  for (const t of compiled.tenants) {
    if (t.mode === 'Audit') notes.push(`tenant ${t.name} is in Audit mode: netfence enforces nothing there, so paths across its fence are listed but do not fail the check`);
  }

  let evaluator: Evaluator | undefined;
  const build = (): Evaluator =>
    buildEvaluator({
      namespaces: namespaces as Namespace[],
      pods: [...(pods as Pod[]), ...(reach.possiblePods as Pod[])],
      policies: policies as NetworkPolicy[],
    });
  return {
    tenants: input.tenants,
    compiled,
    namespaces,
    addedNamespaces: added.map((n) => n.metadata.name),
    pods,
    policies,
    fences,
    reach,
    evaluator: () => (evaluator ??= build()),
    notes,
  };
}
