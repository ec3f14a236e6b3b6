/**
 * Who can reach whom, on which ports, for a whole cluster at once, without visiting every
 * pair of pods. Pure: builds an index, then answers from it.
 *
 * How: every pod gets a signature made of what any rule could tell about it: the peers it
 * matches (as a remote end), the policies that select it for ingress and for egress, its
 * tenant and the exposures it opts into, and the numbers its named container ports carry.
 * Pods with equal signatures are indistinguishable to every policy and declaration, so one
 * class stands for all of them; addresses outside the cluster are classed the same way (see
 * addresses.ts). Pairs of classes are then visited only where the source's egress could
 * admit the destination and the destination's ingress could admit the source, and each
 * side's answer is memoised by (side, remote signature, named ports).
 *
 * Guarantees: for every pod pair (and pod/address pair) `allowed` is exactly the set of
 * ports on which the evaluator (src/evaluator) answers allowed; `declared*` are the ports the
 * tenants' fences declare (fences.ts). Tested against the evaluator by property tests and on
 * the upstream cases.
 * Assumptions: the model's names are unique (the evaluator's index checks that first); pod
 * addresses parse (podAddresses throws, naming the pod, on one that does not).
 * Possible pods: besides the model's pods (Pods, and workloads' templates named `kind/name`),
 * every namespace gets the pods that could be created there (possible-pods.ts): one per set
 * of the namespace's pod selectors that some labels match, named `*` (no labels) or
 * `*{app=web}`. They have no address. Their ports' names are unknown, so a pair towards one
 * is answered for every way the pod may place them (allowedPorts, undeclaredPorts): a name
 * may sit on any port, one port carries one name. Each side's `ports` reads a name as every
 * port of its protocol (for naming the policies involved); the point evaluator, given the
 * same pod, resolves a name to nothing, so `explain` takes its verdict from the pair there.
 * Self-traffic: a pod's connections to itself are always allowed (Kubernetes: "a pod cannot
 * block access to itself"), and they are not what a class pair answers. `pair(A, B)` and
 * `forEachAllowed` speak of connections between two different pods, one of A and one of B:
 * for a class to itself, between two different members (a workload's or a possible pod
 * stands for several pods, so from it to itself is such a pair). A class of one Pod of the
 * input (`several` false) has no such pair, so its pair to itself allows nothing whatever the
 * policies say: a cell built from pairs never shows self-traffic as pods of a class reaching
 * each other, and no check finding is raised or hidden by it (a pod and itself are in one
 * tenant, so the path never crosses a fence). `allowedBetween` answers for two endpoints,
 * self included, as the evaluator does.
 * Node traffic is not modelled: the analysis has no nodes, and an address outside the
 * cluster is judged by the policies even when it is the address of a pod's node, to and from
 * which Kubernetes always allows traffic (the evaluator knows it when given Nodes). No policy
 * can open or close that traffic, so no check finding is about it; a cell towards `outside
 * the cluster` leaves it out.
 */
import { EXPOSE_LABEL_VALUE, NAMESPACE_NAME_LABEL } from '../api/constants.js';
import type { DeepReadonly, LabelSelector, Namespace, NetworkPolicy, Pod, Protocol } from '../api/k8s.js';
import { cidrContainsIP, formatCidr, parseIP, type Cidr, type IP } from '../core/cidr.js';
import { compareStrings, matchesSelector, type Labels } from '../core/labels.js';
import { isSinglePodName, podAddresses, type Endpoint } from '../evaluator/endpoint.js';
import { addressPieces, type AddressPiece } from './addresses.js';
import { exposuresOf, type Fences } from './fences.js';
import { possiblePods } from './possible-pods.js';
import { isWorkloadPodName } from '../io/workloads.js';
import { PortSet } from './ports.js';
import { policyRules, type CompiledPort, type NamespaceMatch, type Peer, type Rule, type RuleSource } from './rules.js';

/** The name of the possible pod with no labels; others are `*{key=value,...}`. */
export const POSSIBLE_POD = '*';

export interface ReachabilityLimits {
  /** At most this many possible pods per namespace (possible-pods.ts cuts the partition beyond). */
  possiblePods: number;
}

export const DEFAULT_LIMITS: ReachabilityLimits = { possiblePods: 256 };

export interface AnalysisModel {
  namespaces: readonly DeepReadonly<Namespace>[];
  pods: readonly DeepReadonly<Pod>[];
  policies: readonly DeepReadonly<NetworkPolicy>[];
}

/**
 * What a member of a pod class stands for:
 * - `pod`: a Pod of the input, by its name;
 * - `workload`: the pods of a workload's template (Deployment, StatefulSet, ...), named
 *   `<kind>/<name>` in lower case, e.g. `deployment/web`;
 * - `possible`: every pod that could be created in the namespace with labels like
 *   `labels`, named `*` (no labels) or `*{app=web,tier=db}`; see possible-pods.ts.
 */
export type PodOrigin = 'pod' | 'workload' | 'possible';

export interface PodRef {
  namespace: string;
  name: string;
  origin: PodOrigin;
  /** For a possible pod: the label requirements it stands for, e.g. `app=web`, `tier!=db`, `!team` (sorted). */
  labels?: readonly string[];
}

export interface EndpointClass {
  index: number;
  kind: 'pods' | 'external';
  /** Pods of the class, sorted by namespace then name (kind `pods`). */
  pods: readonly PodRef[];
  /** Pieces of the address space outside the cluster (kind `external`). */
  addresses: readonly AddressPiece[];
  /** The tenant whose fence the class is inside, if any. */
  tenant: string | undefined;
  /** Distinct namespaces of `pods`, sorted. */
  namespaces: readonly string[];
  /**
   * The class stands for more than one pod: two members or more, or one that stands for
   * several pods (a workload's, a possible pod). False for a class of one Pod of the input,
   * whose pair to itself is empty (see the module comment). True for addresses.
   */
  several: boolean;
}

/** What one policy (or declaration) of a side admits for one pair. */
export interface Allowance {
  name: string;
  ports: PortSet;
}

export interface SideAnswer {
  /** Some policy selects the pod for this direction. False for addresses outside the cluster. */
  isolated: boolean;
  /** Every selecting policy in name order, with what it admits (possibly nothing). */
  allowances: readonly Allowance[];
  /** Union of `allowances`, or every port when not isolated. */
  ports: PortSet;
  /**
   * Towards a possible pod whose ports' names are unknown (see `undeclaredPorts`): the numeric
   * part of `ports` (named ports left out) and the named ports admitted, as `PROTOCOL name`.
   * `ports` itself reads every named port as every port of its protocol.
   */
  named?: { numeric: PortSet; names: ReadonlySet<string> };
}

/** A side as numbers plus names: the numeric part, and the names it admits (none when not `named`). */
function numericAndNames(s: SideAnswer): { numeric: PortSet; names: ReadonlySet<string> } {
  return s.named ?? { numeric: s.ports, names: NO_NAMES };
}
const NO_NAMES: ReadonlySet<string> = new Set();

/** Every port of a `PROTOCOL name` key's protocol. */
const protocolOfKey = (key: string): PortSet => PortSet.protocol(key.slice(0, key.indexOf(' ')) as Protocol);

/** A side's ports when the pod's port named `key` could be any port: its numbers, plus every port of the protocol when it admits the name. */
function withName(side: { numeric: PortSet; names: ReadonlySet<string> }, key: string): PortSet {
  return side.names.has(key) ? side.numeric.union(protocolOfKey(key)) : side.numeric;
}

/**
 * The ports both sides allow, over every way a possible pod may name its ports: what both
 * allow by number, and for each name either side admits, the ports allowed once that name
 * sits on one of them (one port carries one name, so two different names never meet).
 */
function allowedPorts(egress: SideAnswer, ingress: SideAnswer): PortSet {
  if (egress.named === undefined && ingress.named === undefined) return egress.ports.intersect(ingress.ports);
  const e = numericAndNames(egress);
  const i = numericAndNames(ingress);
  let out = e.numeric.intersect(i.numeric);
  forEachName(e, i, (key) => (out = out.union(withName(e, key).intersect(withName(i, key)))));
  return out;
}

/** Each name either side admits, once. */
function forEachName(e: { names: ReadonlySet<string> }, i: { names: ReadonlySet<string> }, visit: (key: string) => void): void {
  for (const key of e.names) visit(key);
  for (const key of i.names) if (!e.names.has(key)) visit(key);
}

/**
 * The ports of a pair that `declared` does not declare, over every way a possible pod may
 * name its ports: a port the policies allow by number and the declaration does not name by
 * number, or a port carrying a name the policies admit that the declaration does not name
 * (a port declared by name is declared only where that name is). For pods with known ports
 * this is `allowed` minus `declared.ports`.
 */
export function undeclaredPorts(p: PairAnswer, declared: SideAnswer): PortSet {
  if (p.egress.named === undefined && p.ingress.named === undefined && declared.named === undefined) return p.allowed.subtract(declared.ports);
  const e = numericAndNames(p.egress);
  const i = numericAndNames(p.ingress);
  const d = numericAndNames(declared);
  let out = e.numeric.intersect(i.numeric).subtract(d.numeric);
  forEachName(e, i, (key) => {
    if (!d.names.has(key)) out = out.union(withName(e, key).intersect(withName(i, key)).subtract(d.numeric));
  });
  return out;
}

export interface PairAnswer {
  from: EndpointClass;
  to: EndpointClass;
  egress: SideAnswer;
  ingress: SideAnswer;
  /**
   * egress ∩ ingress, between two different pods: non-empty for every pair `forEachAllowed`
   * reports; empty from a class that is not `several` to itself.
   */
  allowed: PortSet;
}

export interface Reachability {
  classes: readonly EndpointClass[];
  /** The possible pods analysed, as pods with their witness labels (for the point evaluator). */
  possiblePods: readonly DeepReadonly<Pod>[];
  /** Namespaces whose possible pods were cut at the limit: the analysis is not complete there. */
  cutNamespaces: readonly string[];
  /** The class of a pod (including `ns/*` representatives), undefined when unknown. */
  classOfPod(namespace: string, name: string): EndpointClass | undefined;
  /** The class of an address outside the cluster. */
  classOfAddress(ip: IP): EndpointClass;
  /** Every ordered pair of classes (not both external) with something allowed, in class order. */
  forEachAllowed(visit: (pair: PairAnswer) => void): void;
  /** The full answer for one pair, allowed or not, between different pods (see the module comment). */
  pair(from: EndpointClass, to: EndpointClass): PairAnswer;
  /**
   * Ports the source's tenant declares towards the destination (egress), and the
   * destination's tenant declares from the source (ingress). Every port when that end is in no
   * tenant or both ends are in the same tenant.
   */
  declared(from: EndpointClass, to: EndpointClass): { egress: SideAnswer; ingress: SideAnswer };
  /** Rule by rule, why each selecting policy of each side admits the pair or not. */
  detail(from: EndpointClass, to: EndpointClass): { egress: SourceDetail[]; ingress: SourceDetail[] };
}

export interface SourceDetail {
  name: string;
  rules: {
    /** The rule's peers match the other end (true when the rule lists no peers). */
    peerMatches: boolean;
    /** The ports the rule names, resolved on the destination (named ports become numbers). */
    ports: PortSet;
  }[];
}

/** A side of a class: the rule sources that select it for one direction. */
interface Side {
  id: number;
  isolated: boolean;
  sources: readonly InternedSource[];
  /** Classes any rule could admit as the remote end; null when some rule admits every peer. */
  candidates?: Uint8Array | null;
  /** Answers already computed for this side (see `answer`). */
  answers?: Map<number, SideAnswer>;
}

interface InternedRule {
  peers: readonly number[] | null;
  ports: readonly CompiledPort[] | null;
}

interface InternedSource {
  name: string;
  rules: readonly InternedRule[];
}

interface ClassData extends EndpointClass {
  remoteId: number;
  /** The matched peers, by peer id. */
  remotePeers: ReadonlySet<number>;
  /** -1 for possible pods, whose named ports may be any port. */
  namedPortsId: number;
  namedPorts: ReadonlyMap<string, readonly number[]>;
  anyNamedPort: boolean;
  ingress: Side;
  egress: Side;
  declaredIngress: Side | undefined;
  declaredEgress: Side | undefined;
}

function interner<T>(): { id: (key: string, make: () => T) => number; all: T[] } {
  const ids = new Map<string, number>();
  const all: T[] = [];
  return {
    all,
    id(key, make) {
      let id = ids.get(key);
      if (id === undefined) {
        id = all.length;
        ids.set(key, id);
        all.push(make());
      }
      return id;
    },
  };
}

function selectorKey(s: DeepReadonly<LabelSelector>): string {
  const ml = Object.entries(s.matchLabels ?? {}).sort(([a], [b]) => compareStrings(a, b));
  const me = (s.matchExpressions ?? []).map((e) => [e.key, e.operator, [...(e.values ?? [])].sort(compareStrings)]);
  me.sort((a, b) => compareStrings(JSON.stringify(a), JSON.stringify(b)));
  return JSON.stringify([ml, me]);
}

function namespaceMatchKey(m: NamespaceMatch): string {
  return m.kind === 'names' ? `n:${JSON.stringify([...new Set(m.names)].sort(compareStrings))}` : `s:${selectorKey(m.selector)}`;
}

function peerKey(p: Peer): string {
  if (p.kind === 'pods') return `p:${namespaceMatchKey(p.namespaces)}:${selectorKey(p.pods)}`;
  return `a:${formatCidr(p.cidr)}:${p.except.map(formatCidr).sort().join(',')}`;
}

function namedPortKey(protocol: Protocol, name: string): string {
  return `${protocol} ${name}`;
}

function addressMatches(peer: Extract<Peer, { kind: 'addresses' }>, ips: readonly IP[]): boolean {
  return ips.some((ip) => cidrContainsIP(peer.cidr, ip) && !peer.except.some((e) => cidrContainsIP(e, ip)));
}

export function buildReachability(model: AnalysisModel, fences: Fences, limits: ReachabilityLimits = DEFAULT_LIMITS): Reachability {
  // ---- Interning: peers, rule sources, sides.
  const peers = interner<Peer>();
  const namedPortNames = new Set<string>();
  const internRules = (rules: readonly Rule[]): InternedRule[] =>
    rules.map((r) => {
      for (const p of r.ports ?? []) if (p.kind === 'named') namedPortNames.add(namedPortKey(p.protocol, p.name));
      return { peers: r.peers === null ? null : [...new Set(r.peers.map((p) => peers.id(peerKey(p), () => p)))].sort((a, b) => a - b), ports: r.ports };
    });
  const sources = interner<InternedSource>();
  const internSource = (s: RuleSource): number => {
    const rules = internRules(s.rules);
    return sources.id(JSON.stringify([s.name, rules]), () => ({ name: s.name, rules }));
  };
  const sides = interner<Side>();
  const sideOf = (sourceIds: number[], isolated: boolean): Side => {
    const ids = [...new Set(sourceIds)].sort((a, b) => a - b);
    const id = sides.id(`${isolated}:${ids.join(',')}`, () => ({
      id: sides.all.length,
      isolated,
      sources: ids.map((i) => sources.all[i] as InternedSource).sort((a, b) => compareStrings(a.name, b.name)),
    }));
    return sides.all[id] as Side;
  };
  const OPEN = sideOf([], false);

  // ---- Policies by namespace, in the analysis's terms.
  const policiesByNamespace = new Map<string, { podSelector: DeepReadonly<LabelSelector>; ingress: number | null; egress: number | null }[]>();
  for (const p of model.policies) {
    const r = policyRules(p);
    const list = policiesByNamespace.get(r.namespace) ?? [];
    list.push({ podSelector: r.podSelector, ingress: r.ingress === null ? null : internSource(r.ingress), egress: r.egress === null ? null : internSource(r.egress) });
    policiesByNamespace.set(r.namespace, list);
  }
  // ---- Declarations, interned the same way.
  const fenceSources = new Map<string, { ingress: number; egress: number; exposures: { label: string; source: number }[] }>();
  for (const [name, f] of fences.tenants) {
    fenceSources.set(name, {
      ingress: internSource(f.ingress),
      egress: internSource(f.egress),
      exposures: f.exposures.map((e) => ({ label: e.label, source: internSource(e.source) })),
    });
  }

  // ---- Namespaces: labels, and which namespace matches hold for each.
  const namespaceLabels = new Map<string, Labels>();
  for (const ns of model.namespaces) namespaceLabels.set(ns.metadata.name, { ...ns.metadata.labels, [NAMESPACE_NAME_LABEL]: ns.metadata.name });
  const labelsOfNamespace = (n: string): Labels => namespaceLabels.get(n) ?? { [NAMESPACE_NAME_LABEL]: n };
  const podPeersByNamespaceMatch = new Map<string, { match: NamespaceMatch; peers: number[] }>();
  const addressPeers: number[] = [];
  peers.all.forEach((p, id) => {
    if (p.kind === 'addresses') {
      addressPeers.push(id);
      return;
    }
    const key = namespaceMatchKey(p.namespaces);
    const entry = podPeersByNamespaceMatch.get(key) ?? { match: p.namespaces, peers: [] };
    entry.peers.push(id);
    podPeersByNamespaceMatch.set(key, entry);
  });
  const byName = new Map<string, number[]>();
  const bySelector: { match: Extract<NamespaceMatch, { kind: 'selector' }>; peers: number[] }[] = [];
  for (const { match, peers: ids } of podPeersByNamespaceMatch.values()) {
    if (match.kind === 'names') for (const n of new Set(match.names)) byName.set(n, [...(byName.get(n) ?? []), ...ids]);
    else bySelector.push({ match, peers: ids });
  }
  const peersOfNamespace = new Map<string, number[]>();
  const namespacePeers = (n: string): number[] => {
    let ids = peersOfNamespace.get(n);
    if (ids === undefined) {
      const labels = labelsOfNamespace(n);
      ids = [...(byName.get(n) ?? [])];
      for (const s of bySelector) if (matchesSelector(s.match.selector, labels)) ids.push(...s.peers);
      peersOfNamespace.set(n, ids);
    }
    return ids;
  };

  // ---- The pods that could exist: per namespace, one per set of its selectors some labels match.
  const possible: Pod[] = [];
  const possibleLabels = new Map<string, readonly string[]>();
  const cutNamespaces: string[] = [];
  for (const ns of model.namespaces) {
    const n = ns.metadata.name;
    const selectors = new Map<string, DeepReadonly<LabelSelector>>();
    const add = (sel: DeepReadonly<LabelSelector>): void => void selectors.set(selectorKey(sel), sel);
    for (const p of policiesByNamespace.get(n) ?? []) add(p.podSelector);
    for (const id of namespacePeers(n)) add((peers.all[id] as Extract<Peer, { kind: 'pods' }>).pods);
    const tenant = fences.tenantOf.get(n);
    const fence = tenant === undefined ? undefined : fences.tenants.get(tenant);
    for (const e of fence?.exposures ?? []) add({ matchLabels: { [e.label]: EXPOSE_LABEL_VALUE } });
    const result = possiblePods([...selectors.values()], limits.possiblePods);
    if (!result.complete) cutNamespaces.push(n);
    for (const pp of result.pods) {
      const shown = Object.entries(pp.labels)
        .sort(([a], [b]) => compareStrings(a, b))
        .map(([k, v]) => `${k}=${v}`);
      const name = shown.length === 0 ? POSSIBLE_POD : `${POSSIBLE_POD}{${shown.join(',')}}`;
      possible.push({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: n, name, labels: pp.labels } });
      possibleLabels.set(`${n}/${name}`, pp.description);
    }
  }

  // ---- Pods (those of the model, workloads' and possible ones) into classes.
  const allPods: DeepReadonly<Pod>[] = [...model.pods, ...possible];
  const remoteSigs = interner<ReadonlySet<number>>();
  const namedPortSigs = interner<ReadonlyMap<string, readonly number[]>>();
  const classes: ClassData[] = [];
  const classByKey = new Map<string, ClassData>();
  const classByPod = new Map<string, ClassData>();
  const members = new Map<ClassData, PodRef[]>();

  for (const pod of allPods) {
    const { namespace, name } = pod.metadata;
    const labels: Labels = pod.metadata.labels ?? {};
    const matched: number[] = [];
    for (const id of namespacePeers(namespace)) {
      const p = peers.all[id] as Extract<Peer, { kind: 'pods' }>;
      if (matchesSelector(p.pods, labels)) matched.push(id);
    }
    const ips = podAddresses(pod);
    if (ips.length > 0) for (const id of addressPeers) if (addressMatches(peers.all[id] as Extract<Peer, { kind: 'addresses' }>, ips)) matched.push(id);
    matched.sort((a, b) => a - b);
    const remoteId = remoteSigs.id(matched.join(','), () => new Set(matched));

    const named = new Map<string, number[]>();
    for (const c of pod.spec?.containers ?? []) {
      for (const cp of c.ports ?? []) {
        if (!cp.name) continue;
        const key = namedPortKey(cp.protocol ?? 'TCP', cp.name);
        if (!namedPortNames.has(key)) continue;
        named.set(
          key,
          [...(named.get(key) ?? []), cp.containerPort].sort((a, b) => a - b),
        );
      }
    }
    const namedKey = JSON.stringify([...named.entries()].sort(([a], [b]) => compareStrings(a, b)));
    const namedPortsId = namedPortSigs.id(namedKey, () => named);

    const selecting = (policiesByNamespace.get(namespace) ?? []).filter((p) => matchesSelector(p.podSelector, labels));
    const ingressIds = selecting.flatMap((p) => (p.ingress === null ? [] : [p.ingress]));
    const egressIds = selecting.flatMap((p) => (p.egress === null ? [] : [p.egress]));
    const ingress = ingressIds.length === 0 ? OPEN : sideOf(ingressIds, true);
    const egress = egressIds.length === 0 ? OPEN : sideOf(egressIds, true);

    const tenant = fences.tenantOf.get(namespace);
    const fence = tenant === undefined ? undefined : fences.tenants.get(tenant);
    const declared = tenant === undefined ? undefined : fenceSources.get(tenant);
    let declaredIngress: Side | undefined;
    let declaredEgress: Side | undefined;
    if (fence !== undefined && declared !== undefined) {
      const exposed = new Set(exposuresOf(fence, labels).map((e) => e.label));
      declaredIngress = sideOf([declared.ingress, ...declared.exposures.filter((e) => exposed.has(e.label)).map((e) => e.source)], true);
      declaredEgress = sideOf([declared.egress], true);
    }

    const podKey = `${namespace}/${name}`;
    const origin: PodOrigin = possibleLabels.has(podKey) ? 'possible' : isWorkloadPodName(name) ? 'workload' : 'pod';
    // A possible pod may give any of its ports any name: a named port stands for every port.
    const anyNamedPort = origin === 'possible' && namedPortNames.size > 0;
    const key = [tenant ?? '', remoteId, anyNamedPort ? 'any' : namedPortsId, ingress.id, egress.id, declaredIngress?.id ?? -1, declaredEgress?.id ?? -1].join('|');
    let cls = classByKey.get(key);
    if (cls === undefined) {
      cls = {
        index: classes.length,
        kind: 'pods',
        pods: [],
        addresses: [],
        tenant,
        namespaces: [],
        several: true,
        remoteId,
        remotePeers: remoteSigs.all[remoteId] as ReadonlySet<number>,
        namedPortsId: anyNamedPort ? -1 : namedPortsId,
        namedPorts: named,
        anyNamedPort,
        ingress,
        egress,
        declaredIngress,
        declaredEgress,
      };
      classes.push(cls);
      classByKey.set(key, cls);
      members.set(cls, []);
    }
    if (classByPod.has(podKey)) throw new Error(`Pod ${podKey} is listed twice`);
    classByPod.set(podKey, cls);
    const ref: PodRef = { namespace, name, origin };
    const description = possibleLabels.get(podKey);
    if (description !== undefined) ref.labels = description;
    members.get(cls)?.push(ref);
  }

  // ---- Addresses outside the cluster: one class per set of matched address peers.
  const cidrs: Cidr[] = [];
  for (const id of addressPeers) {
    const p = peers.all[id] as Extract<Peer, { kind: 'addresses' }>;
    cidrs.push(p.cidr, ...p.except);
  }
  const noNamedPorts = namedPortSigs.id('[]', () => new Map());
  const externalByRemote = new Map<number, ClassData>();
  const externalPieces = new Map<ClassData, AddressPiece[]>();
  const pieces = addressPieces(cidrs);
  const classOfPiece = new Map<AddressPiece, ClassData>();
  for (const piece of pieces) {
    const matched = addressPeers.filter((id) => addressMatches(peers.all[id] as Extract<Peer, { kind: 'addresses' }>, [piece.representative]));
    // Cloud metadata stays a class of its own, so reports can name it whatever matches it.
    const remoteId = remoteSigs.id(`${piece.metadata ? 'm' : ''}${matched.join(',')}`, () => new Set(matched));
    let cls = externalByRemote.get(remoteId);
    if (cls === undefined) {
      cls = {
        index: classes.length,
        kind: 'external',
        pods: [],
        addresses: [],
        tenant: undefined,
        namespaces: [],
        several: true,
        remoteId,
        remotePeers: remoteSigs.all[remoteId] as ReadonlySet<number>,
        namedPortsId: noNamedPorts,
        namedPorts: new Map(),
        anyNamedPort: false,
        ingress: OPEN,
        egress: OPEN,
        declaredIngress: undefined,
        declaredEgress: undefined,
      };
      classes.push(cls);
      externalByRemote.set(remoteId, cls);
      externalPieces.set(cls, []);
    }
    externalPieces.get(cls)?.push(piece);
    classOfPiece.set(piece, cls);
  }
  for (const cls of classes) {
    const pods = (members.get(cls) ?? []).sort((a, b) => compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name));
    const several = cls.kind === 'external' || pods.length > 1 || pods.some((p) => !isSinglePodName(p.name));
    Object.assign(cls, { pods, addresses: externalPieces.get(cls) ?? [], namespaces: [...new Set(pods.map((p) => p.namespace))], several });
  }

  // ---- Which classes match each peer, and the candidates of each side.
  const classesOfPeer: number[][] = peers.all.map(() => []);
  for (const cls of classes) for (const id of cls.remotePeers) classesOfPeer[id]?.push(cls.index);
  const candidates = (side: Side): Uint8Array | null => {
    if (side.candidates !== undefined) return side.candidates;
    if (!side.isolated) return (side.candidates = null);
    let out: Uint8Array | null = new Uint8Array(classes.length);
    outer: for (const s of side.sources) {
      for (const r of s.rules) {
        if (r.peers === null) {
          out = null;
          break outer;
        }
        for (const id of r.peers) for (const c of classesOfPeer[id] ?? []) out[c] = 1;
      }
    }
    side.candidates = out;
    return out;
  };

  // ---- Answers, memoised per (side, remote signature, destination's named ports).
  const portsOf = (rule: InternedRule, destination: ClassData): PortSet => {
    if (rule.ports === null) return PortSet.ALL;
    let out = PortSet.EMPTY;
    for (const p of rule.ports) {
      switch (p.kind) {
        case 'all':
          out = out.union(PortSet.protocol(p.protocol));
          break;
        case 'range':
          out = out.union(PortSet.range(p.protocol, p.first, p.last));
          break;
        case 'named':
          if (destination.anyNamedPort) out = out.union(PortSet.protocol(p.protocol));
          else for (const n of destination.namedPorts.get(namedPortKey(p.protocol, p.name)) ?? []) out = out.union(PortSet.range(p.protocol, n));
          break;
      }
    }
    return out;
  };
  const OPEN_SIDE: SideAnswer = Object.freeze({ isolated: false, allowances: [], ports: PortSet.ALL });
  // Per side, keyed by a number: (remote signature, destination's named ports; -1 for "any").
  const namedPortKinds = namedPortSigs.all.length + 1;
  /** A rule's ports towards a possible pod: numbers, and the names it admits. */
  const exactPortsOf = (rule: InternedRule, numeric: { ports: PortSet }, names: Set<string>): void => {
    if (rule.ports === null) {
      numeric.ports = PortSet.ALL;
      return;
    }
    for (const p of rule.ports) {
      if (p.kind === 'all') numeric.ports = numeric.ports.union(PortSet.protocol(p.protocol));
      else if (p.kind === 'range') numeric.ports = numeric.ports.union(PortSet.range(p.protocol, p.first, p.last));
      else names.add(namedPortKey(p.protocol, p.name));
    }
  };
  const answer = (side: Side, remote: ClassData, destination: ClassData): SideAnswer => {
    if (!side.isolated) return OPEN_SIDE;
    const key = remote.remoteId * namedPortKinds + destination.namedPortsId + 1;
    const memo = (side.answers ??= new Map<number, SideAnswer>());
    let a = memo.get(key);
    if (a === undefined) {
      const allowances = side.sources.map((s) => {
        let ports = PortSet.EMPTY;
        for (const r of s.rules) {
          if (r.peers !== null && !r.peers.some((id) => remote.remotePeers.has(id))) continue;
          ports = ports.union(portsOf(r, destination));
        }
        return { name: s.name, ports };
      });
      a = { isolated: true, allowances, ports: PortSet.union(allowances.map((x) => x.ports)) };
      if (destination.anyNamedPort) {
        const numeric = { ports: PortSet.EMPTY };
        const names = new Set<string>();
        for (const s of side.sources) for (const r of s.rules) if (r.peers === null || r.peers.some((id) => remote.remotePeers.has(id))) exactPortsOf(r, numeric, names);
        a.named = { numeric: numeric.ports, names };
      }
      memo.set(key, a);
    }
    return a;
  };

  const pair = (from: ClassData, to: ClassData): PairAnswer => {
    const egress = from.kind === 'external' ? OPEN_SIDE : answer(from.egress, to, to);
    const ingress = to.kind === 'external' ? OPEN_SIDE : answer(to.ingress, from, to);
    // One pod and itself: self-traffic, which no class pair answers (see the module comment).
    const allowed = from === to && !from.several ? PortSet.EMPTY : allowedPorts(egress, ingress);
    return { from, to, egress, ingress, allowed };
  };

  const all = classes.map((c) => c.index);
  return {
    classes,
    possiblePods: possible,
    cutNamespaces,
    classOfPod: (namespace, name) => classByPod.get(`${namespace}/${name}`),
    classOfAddress(ip) {
      const piece = pieces.find((p) => cidrContainsIP(p.cidr, ip) && !p.holes.some((h) => cidrContainsIP(h, ip)));
      return classOfPiece.get(piece as AddressPiece) as ClassData;
    },
    pair: (from, to) => pair(from as ClassData, to as ClassData),
    forEachAllowed(visit) {
      for (const from of classes) {
        const egressCandidates = from.kind === 'external' ? null : candidates(from.egress);
        const targets = egressCandidates === null ? all : all.filter((i) => egressCandidates[i] === 1);
        for (const i of targets) {
          const to = classes[i] as ClassData;
          if (from.kind === 'external' && to.kind === 'external') continue;
          if (to.kind !== 'external' && to.ingress.isolated) {
            const c = candidates(to.ingress);
            if (c !== null && c[from.index] !== 1) continue;
          }
          const p = pair(from, to);
          if (!p.allowed.isEmpty()) visit(p);
        }
      }
    },
    detail(fromClass, toClass) {
      const from = fromClass as ClassData;
      const to = toClass as ClassData;
      const explain = (side: Side, remote: ClassData): SourceDetail[] =>
        side.sources.map((s) => ({
          name: s.name,
          rules: s.rules.map((r) => ({ peerMatches: r.peers === null || r.peers.some((id) => remote.remotePeers.has(id)), ports: portsOf(r, to) })),
        }));
      return {
        egress: from.kind === 'external' ? [] : explain(from.egress, to),
        ingress: to.kind === 'external' ? [] : explain(to.ingress, from),
      };
    },
    declared(fromClass, toClass) {
      const from = fromClass as ClassData;
      const to = toClass as ClassData;
      const crossing = from.tenant !== to.tenant;
      const egress = crossing && from.declaredEgress !== undefined ? answer(from.declaredEgress, to, to) : OPEN_SIDE;
      const ingress = crossing && to.declaredIngress !== undefined ? answer(to.declaredIngress, from, to) : OPEN_SIDE;
      return { egress, ingress };
    },
  };
}

/**
 * The ports allowed from one endpoint to another, as the evaluator answers: every port from
 * a pod that stands for one pod to itself, otherwise the pair of their classes. Node traffic
 * is not modelled (see the module comment). Throws like classOfEndpoint.
 */
export function allowedBetween(reach: Reachability, from: Endpoint, to: Endpoint): { ports: PortSet; self: boolean } {
  const self = isSelf(from, to);
  const ports = reach.pair(classOfEndpoint(reach, from), classOfEndpoint(reach, to)).allowed;
  return self ? { ports: PortSet.ALL, self } : { ports, self };
}

/** A connection from a pod that stands for one pod to itself. */
export function isSelf(from: Endpoint, to: Endpoint): boolean {
  return from.kind === 'pod' && to.kind === 'pod' && from.namespace === to.namespace && from.name === to.name && isSinglePodName(from.name);
}

/** The class of an endpoint; throws an Error naming a pod the model does not hold. */
export function classOfEndpoint(reach: Reachability, e: Endpoint): EndpointClass {
  if (e.kind === 'external') {
    const ip = parseIP(e.ip);
    if (ip === null) throw new Error(`${JSON.stringify(e.ip)} is not an IP address`);
    return reach.classOfAddress(ip);
  }
  const c = reach.classOfPod(e.namespace, e.name);
  if (c === undefined) throw new Error(`unknown pod ${e.namespace}/${e.name}: the input holds no such pod`);
  return c;
}
