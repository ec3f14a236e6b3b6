/**
 * What `check`, `matrix` and `explain` analyse: the cluster's objects, the NetworkPolicies
 * in force, and the tenants' fences. Pure.
 *
 * - `planned` (offline, from manifests): the policies in the input plus those netfence would
 *   maintain, as the operator would leave them: a policy netfence owns (managed-by label and
 *   a TenantIsolation owner) is replaced by the generated one of that name or pruned; any
 *   other policy stays, and where it holds a name netfence generates, it wins (the operator
 *   never takes it over).
 * - `live` (from the cluster): the policies exactly as they are, nothing added: what is
 *   enforced now, drift and a lagging operator included.
 */
import type { DeepReadonly, Namespace, NetworkPolicy, Pod } from '../api/k8s.js';
import type { TenantIsolation } from '../api/types.js';
import { compile, type CompileResult } from '../compiler/compile.js';
import type { CompilerSettings } from '../compiler/settings.js';
import { isNetfenceOwned } from '../operator/policies.js';
import { buildEvaluator, type Evaluator } from '../evaluator/index.js';
import { tenantFences, type Fences } from './fences.js';
import { buildReachability, REPRESENTATIVE_POD, type Reachability } from './reachability.js';

export interface SceneInput {
  tenants: readonly DeepReadonly<TenantIsolation>[];
  namespaces: readonly DeepReadonly<Namespace>[];
  pods: readonly DeepReadonly<Pod>[];
  policies: readonly DeepReadonly<NetworkPolicy>[];
  settings: DeepReadonly<CompilerSettings>;
}

export interface Scene {
  compiled: CompileResult;
  pods: readonly DeepReadonly<Pod>[];
  /** The policies analysed. */
  policies: readonly DeepReadonly<NetworkPolicy>[];
  fences: Fences;
  reach: Reachability;
  /** The point evaluator over the same objects, representative pods included; built on first use. */
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

export function buildScene(input: SceneInput, mode: 'planned' | 'live'): Scene {
  const compiled = compile({
    tenants: input.tenants,
    namespaces: input.namespaces,
    pods: input.pods.map((p) => ({ namespace: p.metadata.namespace, name: p.metadata.name, labels: p.metadata.labels ?? {} })),
    settings: input.settings,
  });
  const notes: string[] = [];
  const policies = mode === 'planned' ? plannedPolicies(input, compiled, notes) : [...input.policies];
  const fences = tenantFences(input.tenants, compiled, input.settings);
  const model = { namespaces: input.namespaces, pods: input.pods, policies };
  const reach = buildReachability(model, fences);

  const representatives = reach.classes.flatMap((c) => c.pods.filter((p) => p.representative).map((p) => p.namespace));
  if (representatives.length > 0) {
    const shown = representatives.slice(0, 10).join(', ');
    const more = representatives.length > 10 ? ` and ${representatives.length - 10} more` : '';
    notes.push(`no pods in the input for ${representatives.length} namespace(s) (${shown}${more}): each is analysed through one representative pod <namespace>/${REPRESENTATIVE_POD} with no labels and no address`);
  }
  for (const t of compiled.tenants) {
    if (t.mode === 'Audit') notes.push(`tenant ${t.name} is in Audit mode: netfence enforces nothing there, so paths across its fence are listed but do not fail the check`);
  }
  for (const c of compiled.conflicts) notes.push(`namespace ${c.namespace} is claimed by tenants ${c.tenants.join(', ')}: it belongs to neither fence and keeps only the deny`);

  let evaluator: Evaluator | undefined;
  const build = (): Evaluator => buildEvaluator({
    namespaces: input.namespaces as Namespace[],
    pods: [
      ...(input.pods as Pod[]),
      ...representatives.map((namespace): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace, name: REPRESENTATIVE_POD } })),
    ],
    policies: policies as NetworkPolicy[],
  });
  return { compiled, pods: input.pods, policies, fences, reach, evaluator: () => (evaluator ??= build()), notes };
}
