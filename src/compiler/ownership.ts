/**
 * Pure helpers that decide, for one NetworkPolicy on the cluster, whether netfence may touch
 * it (P5) and whether it already says what the plan wants (so an unchanged cluster costs no
 * write).
 *
 * `policyMatches` compares what the API server stores with what netfence would write. It
 * treats as equal only what the server makes equal: a missing list and an empty list, a
 * selector's missing and empty `matchLabels`/`matchExpressions`, a port without a protocol
 * and TCP, and missing `policyTypes` and their default. An empty selector (`{}`) and a
 * missing one are different (`namespaceSelector: {}` means every namespace), and so are
 * labels, annotations and owners netfence sets.
 */
import { CONFLICT_ANNOTATION, GROUP, KIND, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/constants.js';
import type { DeepReadonly, LabelSelector, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec, OwnerReference, PolicyType } from '../api/k8s.js';
import { effectivePolicyTypes } from '../evaluator/compile.js';

type Policy = DeepReadonly<NetworkPolicy>;

/** TenantIsolation owners named in the policy's ownerReferences. */
export function tenantOwners(policy: Policy): DeepReadonly<OwnerReference>[] {
  return (policy.metadata.ownerReferences ?? []).filter((ref) => ref.kind === KIND && ref.apiVersion.split('/')[0] === GROUP);
}

/**
 * P5: netfence changes or deletes a policy only when it carries the managed-by label and a
 * TenantIsolation owner. A policy with only one of the two was written or edited by someone else.
 */
export function isNetfenceOwned(policy: Policy): boolean {
  return policy.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE && tenantOwners(policy).length > 0;
}

export function policyMatches(live: Policy, desired: Policy): boolean {
  const liveLabels = live.metadata.labels ?? {};
  for (const [key, value] of Object.entries(desired.metadata.labels ?? {})) {
    if (liveLabels[key] !== value) return false;
  }
  // The one annotation netfence writes: present exactly when desired.
  if (live.metadata.annotations?.[CONFLICT_ANNOTATION] !== desired.metadata.annotations?.[CONFLICT_ANNOTATION]) return false;
  if (ownerKey(tenantOwners(live)) !== ownerKey(tenantOwners(desired))) return false;
  return specKey(live.spec) === specKey(desired.spec);
}

/** The canonical JSON of a normalized spec, remembered per frozen spec object (cached and planned specs are frozen and shared). */
const specKeys = new WeakMap<object, string>();
function specKey(spec: Policy['spec']): string {
  if (!Object.isFrozen(spec)) return canonicalJson(normalizeSpec(spec));
  let key = specKeys.get(spec);
  if (key === undefined) specKeys.set(spec, (key = canonicalJson(normalizeSpec(spec))));
  return key;
}

function ownerKey(refs: readonly DeepReadonly<OwnerReference>[]): string {
  return refs
    .map((r) => `${r.apiVersion}|${r.name}|${r.uid}|${r.controller === true}|${r.blockOwnerDeletion === true}`)
    .sort()
    .join(',');
}

function normalizeSelector(selector: DeepReadonly<LabelSelector> | undefined): LabelSelector | undefined {
  if (selector === undefined || selector === null) return undefined;
  const out: LabelSelector = {};
  if (selector.matchLabels && Object.keys(selector.matchLabels).length > 0) out.matchLabels = { ...selector.matchLabels };
  if (selector.matchExpressions && selector.matchExpressions.length > 0) {
    out.matchExpressions = selector.matchExpressions.map((e) => ({
      key: e.key,
      operator: e.operator,
      ...(e.values && e.values.length > 0 ? { values: [...e.values] } : {}),
    }));
  }
  return out;
}

function normalizePeer(peer: DeepReadonly<NetworkPolicyPeer>): NetworkPolicyPeer {
  const out: NetworkPolicyPeer = {};
  const pods = normalizeSelector(peer.podSelector);
  const namespaces = normalizeSelector(peer.namespaceSelector);
  if (pods) out.podSelector = pods;
  if (namespaces) out.namespaceSelector = namespaces;
  if (peer.ipBlock) {
    out.ipBlock = { cidr: peer.ipBlock.cidr };
    if (peer.ipBlock.except && peer.ipBlock.except.length > 0) out.ipBlock.except = [...peer.ipBlock.except];
  }
  return out;
}

function normalizePorts(ports: readonly DeepReadonly<NetworkPolicyPort>[] | undefined): NetworkPolicyPort[] | undefined {
  if (!ports || ports.length === 0) return undefined;
  return ports.map((p) => {
    const out: NetworkPolicyPort = { protocol: p.protocol ?? 'TCP' };
    if (p.port !== undefined) out.port = p.port;
    if (p.endPort !== undefined) out.endPort = p.endPort;
    return out;
  });
}

function normalizeRule<R>(
  peers: readonly DeepReadonly<NetworkPolicyPeer>[] | undefined,
  ports: readonly DeepReadonly<NetworkPolicyPort>[] | undefined,
  build: (peers: NetworkPolicyPeer[] | undefined, ports: NetworkPolicyPort[] | undefined) => R,
): R {
  return build(peers && peers.length > 0 ? peers.map(normalizePeer) : undefined, normalizePorts(ports));
}

/** The spec as the API server stores it: defaults filled in, empty lists dropped. */
export function normalizeSpec(spec: DeepReadonly<NetworkPolicySpec>): NetworkPolicySpec {
  // As written (the server keeps the order); when absent, the API server's default.
  const policyTypes: PolicyType[] = spec.policyTypes && spec.policyTypes.length > 0 ? [...spec.policyTypes] : effectivePolicyTypes(spec as NetworkPolicySpec);
  const out: NetworkPolicySpec = { podSelector: normalizeSelector(spec.podSelector) ?? {}, policyTypes };
  if (spec.ingress && spec.ingress.length > 0) {
    out.ingress = spec.ingress.map((rule) => normalizeRule(rule.from, rule.ports, (from, ports) => ({ ...(from ? { from } : {}), ...(ports ? { ports } : {}) })));
  }
  if (spec.egress && spec.egress.length > 0) {
    out.egress = spec.egress.map((rule) => normalizeRule(rule.to, rule.ports, (to, ports) => ({ ...(to ? { to } : {}), ...(ports ? { ports } : {}) })));
  }
  return out;
}

/** JSON with object keys sorted; list order kept (it is significant to the server's equality). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
