/**
 * Sorts manifests into the inputs of the offline commands and validates them as the API
 * server would on create: TenantIsolations against the CRD schema and its CEL rules
 * (src/api/validate.ts), Namespaces, Pods, workloads (src/io/workloads.ts) and
 * NetworkPolicies and the metadata of all of them with the built-in rules
 * (src/api/validate-k8s.ts). An object of the netfence.dev group of any kind but
 * TenantIsolation is refused: a misspelt kind would drop a tenant silently. Problems come back as
 * `file:line: Kind ns/name: message`, every problem of every object at once.
 *
 * Guarantees: the objects handed on are as the API server would store them: without null
 * fields, without a namespace on a cluster-scoped object (Namespace, TenantIsolation: the
 * API server clears it, so the same name twice is "defined twice" whatever namespace either
 * copy names), and a NetworkPolicy without spec or podSelector with the empty podSelector.
 * They are new objects where that changed anything, the read ones otherwise.
 */
import { API_VERSION, GROUP, KIND } from '../api/constants.js';
import type { Namespace, NetworkPolicy, Pod } from '../api/k8s.js';
import type { TenantIsolation } from '../api/types.js';
import { validateTenantIsolation, type ValidationIssue } from '../api/validate.js';
import { validateNamespace, validateNetworkPolicy, validatePod, validateTenantMetadata, validateWorkload } from '../api/validate-k8s.js';
import { isRecord, setOwn } from '../core/objects.js';
import { InputError, type Manifest, type Path } from './manifests.js';
import { WORKLOAD_KINDS, workloadPod, type WorkloadKind } from './workloads.js';

export interface Inputs {
  tenants: TenantIsolation[];
  namespaces: Namespace[];
  pods: Pod[];
  /** The pods of the workloads' templates, one per workload, named `<kind>/<name>` (src/io/workloads.ts). */
  workloads: Pod[];
  policies: NetworkPolicy[];
  /** Objects of kinds netfence does not read, by `apiVersion/kind`, with their count. */
  ignored: Map<string, number>;
  /** Where each object came from, for messages. */
  sourceOf: Map<object, string>;
}

interface KindRules {
  validate: (obj: Record<string, unknown>) => ValidationIssue[];
  /** False for cluster-scoped kinds, whose metadata.namespace the API server clears. */
  namespaced: boolean;
  /** For a workload kind: where its pod template is. */
  workload?: WorkloadKind;
}

/** The kinds netfence reads, by `apiVersion/kind`. */
const KINDS: ReadonlyMap<string, KindRules> = new Map<string, KindRules>([
  [`${API_VERSION}/${KIND}`, { validate: (obj) => [...validateTenantIsolation(obj), ...validateTenantMetadata(obj)], namespaced: false }],
  ['v1/Namespace', { validate: validateNamespace, namespaced: false }],
  ['v1/Pod', { validate: validatePod, namespaced: true }],
  ['networking.k8s.io/v1/NetworkPolicy', { validate: validateNetworkPolicy, namespaced: true }],
  ...[...WORKLOAD_KINDS].map(([type, workload]): [string, KindRules] => [type, { validate: (obj) => validateWorkload(obj, workload.templatePath), namespaced: true, workload }]),
]);

/** The value with every null field left out, as the API server decodes it; unchanged parts are shared. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    value.forEach((v, i) => {
      const w = withoutNulls(v);
      if (w !== v) (out ??= [...(value as unknown[])])[i] = w;
    });
    return out ?? value;
  }
  if (!isRecord(value)) return value;
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    if (v === null) {
      out ??= { ...value };
      delete out[k];
      continue;
    }
    const w = withoutNulls(v);
    if (w !== v) setOwn((out ??= { ...value }), k, w);
  }
  return out ?? value;
}

/**
 * A valid object as the API server would store it: nulls dropped, no namespace on a
 * cluster-scoped object, and a NetworkPolicy's missing spec or podSelector as the empty one
 * (the API server decodes both to the empty selector: every pod of the namespace).
 */
function asStored(obj: Record<string, unknown>, rules: KindRules): Record<string, unknown> {
  let out = withoutNulls(obj) as Record<string, unknown>;
  const md = out.metadata as Record<string, unknown>;
  if (!rules.namespaced && md.namespace !== undefined) {
    const { namespace: _cleared, ...rest } = md;
    out = { ...out, metadata: rest };
  }
  if (out.kind === 'NetworkPolicy') {
    const spec = isRecord(out.spec) ? out.spec : {};
    if (spec.podSelector === undefined) out = { ...out, spec: { ...spec, podSelector: {} } };
  }
  return out;
}

/** Validates and sorts manifests; throws InputError listing every problem in every object. */
export function collectInputs(manifests: readonly Manifest[]): Inputs {
  const inputs: Inputs = { tenants: [], namespaces: [], pods: [], workloads: [], policies: [], ignored: new Map(), sourceOf: new Map() };
  const problems: string[] = [];
  const seen = new Map<string, { where: string; strayNamespace: boolean }>();
  for (const m of manifests) {
    const obj = m.object;
    const at = (path: Path): string => `${m.source.file}:${m.lineOf(path)}`;
    if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
      problems.push(`${at([])}: not a Kubernetes object: apiVersion and kind are required`);
      continue;
    }
    const type = `${obj.apiVersion}/${obj.kind}`;
    const rules = KINDS.get(type);
    if (rules === undefined) {
      if (obj.kind === KIND) {
        problems.push(`${at(['apiVersion'])}: ${KIND} must have apiVersion ${API_VERSION}, found ${JSON.stringify(obj.apiVersion)}`);
      } else if (obj.apiVersion.split('/')[0] === GROUP) {
        // A typo here would leave a tenant out of every check without a word.
        problems.push(`${at(['kind'])}: ${GROUP} has no kind ${JSON.stringify(obj.kind)}: the only kind is ${KIND}`);
      } else {
        inputs.ignored.set(type, (inputs.ignored.get(type) ?? 0) + 1);
      }
      continue;
    }
    const found = rules.validate(obj).map((i) => ({ line: m.lineOf(i.path), message: i.message }));
    // In the order of the document; sort is stable, so one line keeps the validators' order.
    found.sort((a, b) => a.line - b.line);
    for (const { line, message } of found) problems.push(`${m.source.file}:${line}: ${obj.kind} ${describe(obj, rules)}: ${message}`);
    if (found.length > 0) continue;
    const stored = asStored(obj, rules);
    const md = stored.metadata as { name: string; namespace?: string };
    const key = rules.namespaced ? `${obj.kind}/${md.namespace}/${md.name}` : `${obj.kind}/${md.name}`;
    const where = `${m.source.file}:${m.source.line}`;
    const stray = (obj.metadata as Record<string, unknown>).namespace;
    const strayNamespace = !rules.namespaced && typeof stray === 'string' && stray !== '';
    const first = seen.get(key);
    if (first !== undefined) {
      const why = strayNamespace || first.strayNamespace ? `; ${obj.kind} is cluster-scoped, so metadata.namespace does not tell them apart` : '';
      problems.push(`${where}: ${obj.kind} ${describe(obj, rules)} is defined twice (first at ${first.where}${why})`);
      continue;
    }
    seen.set(key, { where, strayNamespace });
    inputs.sourceOf.set(stored, where);
    if (obj.kind === KIND) inputs.tenants.push(stored as unknown as TenantIsolation);
    else if (obj.kind === 'Namespace') inputs.namespaces.push(stored as unknown as Namespace);
    else if (obj.kind === 'Pod') inputs.pods.push(stored as unknown as Pod);
    else if (rules.workload !== undefined) {
      const pod = workloadPod(stored, rules.workload);
      inputs.workloads.push(pod);
      inputs.sourceOf.set(pod, where);
    } else inputs.policies.push(stored as unknown as NetworkPolicy);
  }
  if (problems.length > 0) throw new InputError(problems);
  return inputs;
}

/** `namespace/name`, or the name alone for a cluster-scoped kind. */
function describe(obj: Record<string, unknown>, rules: KindRules): string {
  const md = isRecord(obj.metadata) ? obj.metadata : {};
  const name = typeof md.name === 'string' ? md.name : '<unnamed>';
  return rules.namespaced && typeof md.namespace === 'string' ? `${md.namespace}/${name}` : name;
}
