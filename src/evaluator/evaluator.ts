/**
 * The NetworkPolicy evaluator: may one endpoint open a connection to another on a port?
 * Pure; builds an index once, then answers each question without I/O.
 *
 * Guarantees (networking.k8s.io/v1 semantics):
 * - A connection is allowed iff the source's egress side and the destination's ingress side
 *   both allow it. A side allows when no policy selects the pod for that direction
 *   (isolation), or when at least one selecting policy has a rule admitting the connection
 *   (policies are additive). An external address is never selected, so its side allows.
 * - Omitted policyTypes mean Ingress, plus Egress when spec.egress holds a rule.
 * - Absent or empty `from`/`to` admit every peer; absent or empty `ports` admit every port.
 *   A port without protocol is TCP; a protocol without port is every port of it; endPort
 *   is inclusive.
 * - A named port resolves on the destination pod's container ports (name and protocol
 *   must both match), for ingress and egress alike; towards an external address, or when
 *   the destination has no such port, it matches nothing.
 * - podSelector alone selects pods of the policy's namespace; namespaceSelector alone, all
 *   pods of matching namespaces; both in one peer must both hold.
 * - An ipBlock matches an endpoint when one of its addresses (the external address, or the
 *   pod's status.podIP / status.podIPs) is in the CIDR and in none of the `except` CIDRs.
 *   Host bits of a CIDR are ignored. Pods without an address never match an ipBlock.
 * - Every namespace carries `kubernetes.io/metadata.name=<name>`, as the API server sets it,
 *   whatever labels the model lists; a pod whose namespace is not in the model is treated
 *   as being in a namespace with only that label.
 * - Two connections no policy can stop are allowed whatever the sides say (the sides still
 *   say what the policies alone decide, and `exempt` says why):
 *   - a pod to itself, on any port and protocol ("a pod cannot block access to itself"). A
 *     name that stands for several pods (a workload's `kind/name`, a possible pod `*...`;
 *     see isSinglePodName) is not one pod: from it to itself is between two of its pods,
 *     judged like any other pair;
 *   - a pod and the node it runs on, both ways ("traffic to and from the node where a Pod
 *     is running is always allowed"): an external endpoint whose address is an InternalIP
 *     of the Node the pod's spec.nodeName names, when the model holds that Node.
 * Assumptions: names are unique (duplicates throw). A pod's own address given as an
 *   external endpoint is an address outside the cluster, not the pod.
 * Caveats: a node is known only by the InternalIPs of its Node object: its other addresses
 *   (ExternalIP, a CNI bridge or tunnel) and a hostNetwork pod on the same node are judged
 *   like any other endpoint.
 *   An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is an IPv6 address here and does not
 *   match IPv4 CIDRs.
 */
import type { ContainerPort, Namespace, NetworkPolicy, Node, Pod, Protocol } from '../api/k8s.js';
import { PROTOCOLS } from '../api/k8s.js';
import { NAMESPACE_NAME_LABEL } from '../api/constants.js';
import { cidrContainsIP, parseIP, type IP } from '../core/cidr.js';
import { compareStrings, matchesSelector, type Labels } from '../core/labels.js';
import { compilePolicy, type CompiledPeer, type CompiledPolicy, type CompiledRule, type PolicyRef } from './compile.js';
import { isSinglePodName, nodeInternalIPs, podAddresses, sameIP, type Endpoint } from './endpoint.js';

export type { Endpoint } from './endpoint.js';
export { parseEndpoint, formatEndpoint, isSinglePodName, podAddresses } from './endpoint.js';
export type { PolicyRef } from './compile.js';
export { effectivePolicyTypes } from './compile.js';

export interface ClusterModel {
  namespaces: readonly Namespace[];
  pods: readonly Pod[];
  policies: readonly NetworkPolicy[];
  /** The Nodes pods run on (by spec.nodeName); without them no traffic is node traffic. */
  nodes?: readonly Node[];
}

/** Why a connection is allowed whatever the policies say. */
export type Exemption = { kind: 'self'; reason: string } | { kind: 'node'; node: string; reason: string };

export const SELF_REASON = 'a pod cannot block traffic to itself';
export const NODE_REASON = 'traffic between a pod and the node it runs on is always allowed';

export interface SideVerdict {
  /** Some policy selects the pod for this direction. */
  isolated: boolean;
  /** The policies that select the pod for this direction, sorted by namespace then name. */
  selecting: PolicyRef[];
  /** Those among `selecting` whose rules admit this connection, in the same order. */
  allowing: PolicyRef[];
  /** `!isolated || allowing.length > 0` */
  allowed: boolean;
}

export interface Verdict {
  /** `exempt !== undefined || (egress.allowed && ingress.allowed)` */
  allowed: boolean;
  /** Set when no policy can stop the connection: a pod to itself, a pod and its node. */
  exempt?: Exemption;
  /** The source's side. */
  egress: SideVerdict;
  /** The destination's side. */
  ingress: SideVerdict;
}

export interface Evaluator {
  /** Throws an Error when an endpoint names a pod the model does not hold, or on a bad port or protocol. */
  evaluate(from: Endpoint, to: Endpoint, port: number, protocol: Protocol): Verdict;
}

interface PodNode {
  namespace: string;
  name: string;
  labels: Labels;
  namespaceLabels: Labels;
  ips: readonly IP[];
  /** Stands for one pod (see isSinglePodName): its traffic to itself is exempt. */
  single: boolean;
  /** The Node of spec.nodeName and its InternalIPs; undefined when the model holds no such Node. */
  node: { name: string; ips: readonly IP[] } | undefined;
  /** `<protocol> <name>` to the container port numbers carrying that name. */
  namedPorts: ReadonlyMap<string, readonly number[]>;
  ingressPolicies: readonly CompiledPolicy[];
  egressPolicies: readonly CompiledPolicy[];
}

/** An endpoint looked up in the model: a pod, or an address outside the cluster. */
type Resolved = { kind: 'pod'; pod: PodNode } | { kind: 'external'; ips: readonly IP[] };

function namedPortKey(protocol: Protocol, name: string): string {
  return `${protocol} ${name}`;
}

function comparePolicies(a: CompiledPolicy, b: CompiledPolicy): number {
  return compareStrings(a.ref.namespace, b.ref.namespace) || compareStrings(a.ref.name, b.ref.name);
}

function namedPortsOf(pod: Pod): Map<string, number[]> {
  const ports = new Map<string, number[]>();
  const all: ContainerPort[] = (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
  for (const p of all) {
    if (p.name === undefined || p.name === '') continue;
    const key = namedPortKey(p.protocol ?? 'TCP', p.name);
    const list = ports.get(key);
    if (list === undefined) ports.set(key, [p.containerPort]);
    else list.push(p.containerPort);
  }
  return ports;
}

function ipBlockMatches(peer: Extract<CompiledPeer, { kind: 'ipBlock' }>, ips: readonly IP[]): boolean {
  return ips.some((ip) => cidrContainsIP(peer.cidr, ip) && !peer.except.some((e) => cidrContainsIP(e, ip)));
}

/** Does `peer`, written in a policy of `policyNamespace`, match the endpoint? */
function peerMatches(peer: CompiledPeer, policyNamespace: string, endpoint: Resolved): boolean {
  switch (peer.kind) {
    case 'ipBlock':
      return ipBlockMatches(peer, endpoint.kind === 'pod' ? endpoint.pod.ips : endpoint.ips);
    case 'pods': {
      if (endpoint.kind !== 'pod') return false;
      const pod = endpoint.pod;
      const inNamespace = peer.namespaceSelector === undefined ? pod.namespace === policyNamespace : matchesSelector(peer.namespaceSelector, pod.namespaceLabels);
      return inNamespace && (peer.podSelector === undefined || matchesSelector(peer.podSelector, pod.labels));
    }
    case 'nothing':
      return false;
  }
}

/** `remote` is the other end of the connection: the source for ingress, the destination for egress. */
function ruleMatches(rule: CompiledRule, policyNamespace: string, remote: Resolved, destination: Resolved, port: number, protocol: Protocol): boolean {
  if (rule.ports !== null) {
    const portOk = rule.ports.some((p) => {
      if (p.protocol !== protocol) return false;
      switch (p.kind) {
        case 'all':
          return true;
        case 'range':
          return p.first <= port && port <= p.last;
        case 'named':
          return destination.kind === 'pod' && (destination.pod.namedPorts.get(namedPortKey(protocol, p.name))?.includes(port) ?? false);
      }
    });
    if (!portOk) return false;
  }
  return rule.peers === null || rule.peers.some((peer) => peerMatches(peer, policyNamespace, remote));
}

function openSide(): SideVerdict {
  return { isolated: false, selecting: [], allowing: [], allowed: true };
}

/**
 * Indexes the model: namespace labels, pod addresses and named ports, policies by namespace,
 * and for every pod the policies selecting it per direction.
 * Throws an Error on duplicate names, an unparseable pod or node address or policy CIDR.
 */
export function buildEvaluator(model: ClusterModel): Evaluator {
  const namespaceLabels = new Map<string, Labels>();
  for (const ns of model.namespaces) {
    const name = ns.metadata.name;
    if (namespaceLabels.has(name)) throw new Error(`Namespace ${name} is listed twice`);
    namespaceLabels.set(name, { ...ns.metadata.labels, [NAMESPACE_NAME_LABEL]: name });
  }
  const labelsOfNamespace = (name: string): Labels => namespaceLabels.get(name) ?? Object.freeze({ [NAMESPACE_NAME_LABEL]: name });

  const policiesByNamespace = new Map<string, CompiledPolicy[]>();
  const policyKeys = new Set<string>();
  for (const policy of model.policies) {
    const key = `${policy.metadata.namespace}/${policy.metadata.name}`;
    if (policyKeys.has(key)) throw new Error(`NetworkPolicy ${key} is listed twice`);
    policyKeys.add(key);
    const compiled = compilePolicy(policy);
    const list = policiesByNamespace.get(compiled.ref.namespace);
    if (list === undefined) policiesByNamespace.set(compiled.ref.namespace, [compiled]);
    else list.push(compiled);
  }
  for (const list of policiesByNamespace.values()) list.sort(comparePolicies);

  const nodes = new Map<string, { name: string; ips: readonly IP[] }>();
  for (const n of model.nodes ?? []) {
    if (nodes.has(n.metadata.name)) throw new Error(`Node ${n.metadata.name} is listed twice`);
    nodes.set(n.metadata.name, { name: n.metadata.name, ips: nodeInternalIPs(n) });
  }

  const pods = new Map<string, Resolved & { kind: 'pod' }>();
  for (const pod of model.pods) {
    const { namespace, name } = pod.metadata;
    const key = `${namespace}/${name}`;
    if (pods.has(key)) throw new Error(`Pod ${key} is listed twice`);
    const labels: Labels = pod.metadata.labels ?? {};
    const selecting = (policiesByNamespace.get(namespace) ?? []).filter((p) => matchesSelector(p.podSelector, labels));
    const node: PodNode = {
      namespace,
      name,
      labels,
      namespaceLabels: labelsOfNamespace(namespace),
      ips: podAddresses(pod),
      single: isSinglePodName(name),
      node: pod.spec?.nodeName === undefined ? undefined : nodes.get(pod.spec.nodeName),
      namedPorts: namedPortsOf(pod),
      ingressPolicies: selecting.filter((p) => p.ingress !== null),
      egressPolicies: selecting.filter((p) => p.egress !== null),
    };
    pods.set(key, { kind: 'pod', pod: node });
  }

  const externalAddresses = new Map<string, Resolved & { kind: 'external' }>();
  const resolve = (e: Endpoint): Resolved => {
    if (e.kind === 'pod') {
      const found = pods.get(`${e.namespace}/${e.name}`);
      if (found === undefined) throw new Error(`unknown pod ${e.namespace}/${e.name}: the model holds no such pod`);
      return found;
    }
    let found = externalAddresses.get(e.ip);
    if (found === undefined) {
      const ip = parseIP(e.ip);
      if (ip === null) throw new Error(`external endpoint ${JSON.stringify(e.ip)} is not an IP address`);
      found = { kind: 'external', ips: [ip] };
      externalAddresses.set(e.ip, found);
    }
    return found;
  };

  const side = (
    policies: readonly CompiledPolicy[],
    rulesOf: (p: CompiledPolicy) => readonly CompiledRule[],
    remote: Resolved,
    destination: Resolved,
    port: number,
    protocol: Protocol,
  ): SideVerdict => {
    if (policies.length === 0) return openSide();
    const selecting: PolicyRef[] = [];
    const allowing: PolicyRef[] = [];
    for (const p of policies) {
      selecting.push(p.ref);
      if (rulesOf(p).some((r) => ruleMatches(r, p.ref.namespace, remote, destination, port, protocol))) {
        allowing.push(p.ref);
      }
    }
    return { isolated: true, selecting, allowing, allowed: allowing.length > 0 };
  };

  return {
    evaluate(from, to, port, protocol) {
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new RangeError(`port ${port} is not an integer from 1 to 65535`);
      }
      if (!PROTOCOLS.includes(protocol)) throw new RangeError(`protocol ${JSON.stringify(protocol)} is not one of ${PROTOCOLS.join(', ')}`);
      const source = resolve(from);
      const destination = resolve(to);
      const egress = source.kind === 'pod' ? side(source.pod.egressPolicies, (p) => p.egress ?? [], destination, destination, port, protocol) : openSide();
      const ingress = destination.kind === 'pod' ? side(destination.pod.ingressPolicies, (p) => p.ingress ?? [], source, destination, port, protocol) : openSide();
      const exempt = exemption(source, destination);
      const verdict: Verdict = { allowed: exempt !== undefined || (egress.allowed && ingress.allowed), egress, ingress };
      if (exempt !== undefined) verdict.exempt = exempt;
      return verdict;
    },
  };
}

/** Why Kubernetes allows this connection whatever the policies say, if it does. */
function exemption(source: Resolved, destination: Resolved): Exemption | undefined {
  if (source.kind === 'pod' && source === destination && source.pod.single) return { kind: 'self', reason: SELF_REASON };
  const [pod, other] = source.kind === 'pod' ? [source.pod, destination] : destination.kind === 'pod' ? [destination.pod, source] : [undefined, source];
  if (pod?.node === undefined || other.kind !== 'external') return undefined;
  const node = pod.node;
  return other.ips.some((ip) => node.ips.some((n) => sameIP(ip, n))) ? { kind: 'node', node: node.name, reason: NODE_REASON } : undefined;
}
