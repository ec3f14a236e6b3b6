/**
 * NetworkPolicy objects compiled once into a form that is cheap to evaluate: defaults
 * applied (policyTypes, protocol), CIDRs parsed, absent and empty lists folded into "any".
 *
 * Guarantees: the compiled form has the semantics of networking.k8s.io/v1 for every policy
 * the API server accepts.
 * Assumptions: policies were validated by the API server (or an equivalent check). For
 * shapes it rejects, the choice here fails closed: a peer with no selector and no ipBlock,
 * or an ipBlock combined with selectors, matches nothing; an endPort beside a named port is
 * ignored; a port range with endPort below port matches nothing.
 * Caveats: an unparseable CIDR cannot be given a meaning and throws.
 */
import type { LabelSelector, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec, PolicyType, Protocol } from '../api/k8s.js';
import { parseCidr, type Cidr } from '../core/cidr.js';

export interface PolicyRef {
  namespace: string;
  name: string;
}

export type CompiledPeer =
  /** Pods: in namespaces matching `namespaceSelector`, or in the policy's own namespace when it is absent. */
  | {
      kind: 'pods';
      namespaceSelector: Readonly<LabelSelector> | undefined;
      podSelector: Readonly<LabelSelector> | undefined;
    }
  | { kind: 'ipBlock'; cidr: Cidr; except: readonly Cidr[] }
  | { kind: 'nothing' };

export type CompiledPort =
  { protocol: Protocol; kind: 'all' } | { protocol: Protocol; kind: 'range'; first: number; last: number } | { protocol: Protocol; kind: 'named'; name: string };

export interface CompiledRule {
  /** null: every peer (the list was absent or empty). */
  peers: readonly CompiledPeer[] | null;
  /** null: every port of every protocol (the list was absent or empty). */
  ports: readonly CompiledPort[] | null;
}

export interface CompiledPolicy {
  ref: Readonly<PolicyRef>;
  podSelector: Readonly<LabelSelector>;
  /** Present only when the policy isolates ingress; then an empty list denies all ingress. */
  ingress: readonly CompiledRule[] | null;
  /** Present only when the policy isolates egress; then an empty list denies all egress. */
  egress: readonly CompiledRule[] | null;
}

/**
 * The policy types after API server defaulting: as written when non-empty; otherwise
 * Ingress, plus Egress when `spec.egress` holds at least one rule.
 */
export function effectivePolicyTypes(spec: Readonly<NetworkPolicySpec>): PolicyType[] {
  if (spec.policyTypes !== undefined && spec.policyTypes.length > 0) {
    const types: PolicyType[] = [];
    if (spec.policyTypes.includes('Ingress')) types.push('Ingress');
    if (spec.policyTypes.includes('Egress')) types.push('Egress');
    return types;
  }
  return (spec.egress ?? []).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

function compileCidr(text: string, where: string): Cidr {
  const c = parseCidr(text);
  if (c === null) throw new Error(`${where}: ${JSON.stringify(text)} is not a valid CIDR`);
  return c;
}

function compilePeer(peer: Readonly<NetworkPolicyPeer>, where: string): CompiledPeer {
  const hasSelector = peer.podSelector !== undefined || peer.namespaceSelector !== undefined;
  if (peer.ipBlock !== undefined) {
    if (hasSelector) return { kind: 'nothing' };
    return {
      kind: 'ipBlock',
      cidr: compileCidr(peer.ipBlock.cidr, `${where}.ipBlock.cidr`),
      except: (peer.ipBlock.except ?? []).map((e, i) => compileCidr(e, `${where}.ipBlock.except[${i}]`)),
    };
  }
  if (!hasSelector) return { kind: 'nothing' };
  return { kind: 'pods', namespaceSelector: peer.namespaceSelector, podSelector: peer.podSelector };
}

/**
 * One port entry: no port is every port of the protocol, a name stays a name (resolved on
 * the destination pod), a number is the range port..endPort (port alone without endPort).
 * TenantIsolation ports (PortSpec) have the same shape and meaning, and compile here too.
 */
export function compilePort(p: Readonly<NetworkPolicyPort>): CompiledPort {
  const protocol = p.protocol ?? 'TCP';
  if (p.port === undefined) return { protocol, kind: 'all' };
  if (typeof p.port === 'string') return { protocol, kind: 'named', name: p.port };
  return { protocol, kind: 'range', first: p.port, last: p.endPort ?? p.port };
}

function compileRule(peers: readonly NetworkPolicyPeer[] | undefined, ports: readonly NetworkPolicyPort[] | undefined, where: string): CompiledRule {
  return {
    peers: peers === undefined || peers.length === 0 ? null : peers.map((p, i) => compilePeer(p, `${where}[${i}]`)),
    ports: ports === undefined || ports.length === 0 ? null : ports.map(compilePort),
  };
}

/** Throws an Error naming the policy and field when a CIDR does not parse. */
export function compilePolicy(policy: Readonly<NetworkPolicy>): CompiledPolicy {
  const ref = Object.freeze({ namespace: policy.metadata.namespace, name: policy.metadata.name });
  const where = `NetworkPolicy ${ref.namespace}/${ref.name}: spec`;
  const spec = policy.spec;
  const types = effectivePolicyTypes(spec);
  return {
    ref,
    podSelector: spec.podSelector ?? {},
    ingress: types.includes('Ingress') ? (spec.ingress ?? []).map((r, i) => compileRule(r.from, r.ports, `${where}.ingress[${i}].from`)) : null,
    egress: types.includes('Egress') ? (spec.egress ?? []).map((r, i) => compileRule(r.to, r.ports, `${where}.egress[${i}].to`)) : null,
  };
}
