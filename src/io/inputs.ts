/**
 * Sorts manifests into the inputs of the offline commands and validates them: TenantIsolations
 * against the CRD schema and its CEL rules (the same schema the API server enforces), the
 * other kinds for the fields netfence reads. Problems come back as `file:line: message`.
 */
import { API_VERSION, KIND } from '../api/constants.js';
import type { Namespace, NetworkPolicy, Pod } from '../api/k8s.js';
import type { TenantIsolation } from '../api/types.js';
import { validateTenantIsolation } from '../api/validate.js';
import { isRecord } from '../core/objects.js';
import { InputError, type Manifest, type Path } from './manifests.js';

export interface Inputs {
  tenants: TenantIsolation[];
  namespaces: Namespace[];
  pods: Pod[];
  policies: NetworkPolicy[];
  /** Objects of kinds netfence does not read, by `apiVersion/kind`, with their count. */
  ignored: Map<string, number>;
  /** Where each object came from, for messages. */
  sourceOf: Map<object, string>;
}

function isStringMap(v: unknown): boolean {
  return isRecord(v) && Object.values(v).every((x) => typeof x === 'string');
}

/** Checks the metadata fields netfence reads; returns problems as [path, message]. */
function metadataProblems(obj: Record<string, unknown>, namespaced: boolean): [Path, string][] {
  const out: [Path, string][] = [];
  const md = obj.metadata;
  if (!isRecord(md)) return [[['metadata'], 'metadata is required']];
  if (typeof md.name !== 'string' || md.name === '') out.push([['metadata', 'name'], 'metadata.name is required']);
  if (namespaced && (typeof md.namespace !== 'string' || md.namespace === '')) {
    out.push([['metadata'], 'metadata.namespace is required (render takes fully rendered manifests, e.g. the output of `kustomize build`)']);
  }
  if (md.labels !== undefined && !isStringMap(md.labels)) out.push([['metadata', 'labels'], 'metadata.labels must map strings to strings']);
  return out;
}

function podProblems(obj: Record<string, unknown>): [Path, string][] {
  const out = metadataProblems(obj, true);
  const spec = obj.spec;
  if (spec !== undefined && !isRecord(spec)) out.push([['spec'], 'spec must be a mapping']);
  const containers = isRecord(spec) ? spec.containers : undefined;
  if (containers !== undefined && !Array.isArray(containers)) out.push([['spec', 'containers'], 'spec.containers must be a list']);
  if (Array.isArray(containers)) {
    for (const [i, c] of containers.entries()) {
      const ports = isRecord(c) ? c.ports : undefined;
      if (ports === undefined) continue;
      if (!Array.isArray(ports)) {
        out.push([['spec', 'containers', i, 'ports'], 'ports must be a list']);
        continue;
      }
      for (const [j, p] of ports.entries()) {
        const n = isRecord(p) ? p.containerPort : undefined;
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
          out.push([['spec', 'containers', i, 'ports', j, 'containerPort'], 'containerPort must be an integer in 1-65535']);
        }
      }
    }
  }
  return out;
}

function networkPolicyProblems(obj: Record<string, unknown>): [Path, string][] {
  const out = metadataProblems(obj, true);
  const spec = obj.spec;
  if (!isRecord(spec)) return [...out, [['spec'], 'spec is required']];
  if (!isRecord(spec.podSelector)) out.push([['spec', 'podSelector'], 'spec.podSelector is required (use {} for every pod)']);
  for (const dir of ['ingress', 'egress'] as const) {
    const rules = spec[dir];
    if (rules !== undefined && rules !== null && !Array.isArray(rules)) out.push([['spec', dir], `spec.${dir} must be a list`]);
  }
  return out;
}

/** Validates and sorts manifests; throws InputError listing every problem in every object. */
export function collectInputs(manifests: readonly Manifest[]): Inputs {
  const inputs: Inputs = { tenants: [], namespaces: [], pods: [], policies: [], ignored: new Map(), sourceOf: new Map() };
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const m of manifests) {
    const obj = m.object;
    const at = (path: Path): string => `${m.source.file}:${m.lineOf(path)}`;
    if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
      problems.push(`${at([])}: not a Kubernetes object: apiVersion and kind are required`);
      continue;
    }
    const type = `${obj.apiVersion}/${obj.kind}`;
    let found: [Path, string][];
    switch (type) {
      case `${API_VERSION}/${KIND}`:
        found = validateTenantIsolation(obj).map((i) => [i.path, i.message]);
        break;
      case 'v1/Namespace':
        found = metadataProblems(obj, false);
        break;
      case 'v1/Pod':
        found = podProblems(obj);
        break;
      case 'networking.k8s.io/v1/NetworkPolicy':
        found = networkPolicyProblems(obj);
        break;
      default:
        if (obj.kind === KIND) {
          problems.push(`${at(['apiVersion'])}: ${KIND} must have apiVersion ${API_VERSION}, found ${JSON.stringify(obj.apiVersion)}`);
        } else {
          inputs.ignored.set(type, (inputs.ignored.get(type) ?? 0) + 1);
        }
        continue;
    }
    for (const [path, message] of found) problems.push(`${at(path)}: ${obj.kind} ${describe(obj)}: ${message}`);
    if (found.length > 0) continue;
    const md = obj.metadata as { name: string; namespace?: string };
    const key = `${obj.kind}/${md.namespace ?? ''}/${md.name}`;
    const where = `${m.source.file}:${m.source.line}`;
    const first = seen.get(key);
    if (first !== undefined) {
      problems.push(`${where}: ${obj.kind} ${describe(obj)} is defined twice (first at ${first})`);
      continue;
    }
    seen.set(key, where);
    inputs.sourceOf.set(obj, where);
    if (obj.kind === KIND) inputs.tenants.push(obj as unknown as TenantIsolation);
    else if (obj.kind === 'Namespace') inputs.namespaces.push(obj as unknown as Namespace);
    else if (obj.kind === 'Pod') inputs.pods.push(obj as unknown as Pod);
    else inputs.policies.push(obj as unknown as NetworkPolicy);
  }
  if (problems.length > 0) throw new InputError(problems);
  return inputs;
}

function describe(obj: Record<string, unknown>): string {
  const md = isRecord(obj.metadata) ? obj.metadata : {};
  const name = typeof md.name === 'string' ? md.name : '<unnamed>';
  return typeof md.namespace === 'string' ? `${md.namespace}/${name}` : name;
}
