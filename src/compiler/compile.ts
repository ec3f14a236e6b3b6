/**
 * The policy compiler: TenantIsolations, Namespaces and pod labels in, the NetworkPolicies
 * netfence maintains out. Pure: no I/O, no clock, no randomness, inputs never mutated.
 *
 * Guarantees
 * - Deterministic (P4): the result depends on the inputs' content, not their order; lists,
 *   keys, peers and ports come out sorted, so equal inputs give byte-equal YAML.
 * - Every member namespace of an Enforce tenant gets `netfence-default-deny` (P1), also when
 *   the tenant cannot be compiled or the namespace is claimed by several tenants (P6).
 * - A tenant's members (the same-tenant rules, `tenant` peers) are selected by
 *   `netfence.dev/member=<tenant>` with `settings.memberLabel`, by name otherwise; the result's
 *   `memberLabels` says which namespaces must carry that label (every member of every tenant,
 *   nothing else). Other peers are resolved to namespace names and written as
 *   `kubernetes.io/metadata.name In [...]`; a peer that resolves to nothing is dropped, never
 *   written as an empty list (an empty `from`/`to` would mean "everyone").
 * - Cross-tenant traffic needs a rule on both sides: the sender's egress and the receiver's
 *   ingress (P2); the compiler writes only the side each tenant declares.
 * - Every CIDR allow excepts the cloud metadata endpoints it covers unless the peer sets
 *   `allowCloudMetadata` (P3); a CIDR that lies inside a metadata prefix is dropped.
 * - An `internet` peer becomes one rule with one ipBlock per block of src/api/internet.ts,
 *   each excepting that block's special-purpose ranges and the peer's own `except` entries
 *   inside it; cloud metadata is outside both blocks or excepted, with no opt-in (P3).
 * - Policies are written only into member namespaces and conflicted namespaces.
 * - The result is deeply frozen. Policies of one tenant share their frozen `spec`, labels
 *   and ownerReferences objects (one copy per tenant, not per namespace); copy before
 *   changing anything.
 * - `compileSteps(input)` is the same computation cut into steps: it yields after every tenant
 *   and every STEP namespaces, pods or policies, and returns what `compile(input)` returns
 *   (`compile` runs it to completion), so a caller can spread one compile over several turns
 *   of the event loop. No step does work proportional to the whole cluster except sorting the
 *   namespaces by name. The input must not change until the generator is done.
 * - With a `CompileCache`, a compile returns the policy objects (and their shared parts) of the
 *   compile before it wherever they are equal, so consecutive results share what did not
 *   change; the result is equal to the one without a cache.
 *
 * Assumptions
 * - Namespace labels are those the API server stores; `kubernetes.io/metadata.name` is
 *   taken to equal the namespace name whatever the input says, and `netfence.dev/member` is
 *   ignored (the operator's own output: membership never follows it).
 *
 * Caveats
 * - Membership by `namespaceSelector` or by the tenant label follows labels that whoever can
 *   edit a Namespace can set; the admission guard in config/ restricts who may.
 */
import { createHash } from 'node:crypto';
import {
  API_VERSION,
  CONFLICT_ANNOTATION,
  EXPOSE_LABEL_PREFIX,
  EXPOSE_LABEL_VALUE,
  KIND,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  MEMBER_LABEL,
  NAMESPACE_NAME_LABEL,
  POLICY_NAMES,
  POLICY_ROLE_LABEL,
  POLICY_TENANT_LABEL,
  TENANT_LABEL,
  type PolicyRole,
} from '../api/constants.js';
import type {
  DeepReadonly,
  LabelSelector,
  Namespace,
  NetworkPolicy,
  NetworkPolicyEgressRule,
  NetworkPolicyIngressRule,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  OwnerReference,
} from '../api/k8s.js';
import { CLOUD_METADATA, INTERNET_IP_BLOCKS } from '../api/internet.js';
import type { Peer, PortSpec, TenantIsolation, TenantMode } from '../api/types.js';
import { cidrContains, compareCidrs, formatCidr, parseCidr, type Cidr } from '../core/cidr.js';
import { canonicalSelector, compareStrings, isEmptySelector, matchesSelector } from '../core/labels.js';
import { deepFreeze } from '../core/objects.js';
import { labelValueProblem } from '../api/names.js';
import { compileProblems } from './checks.js';
import type { CompilerSettings } from './settings.js';

export interface PodLabels {
  namespace: string;
  name: string;
  labels?: Readonly<Record<string, string>>;
}

export interface CompileInput {
  tenants: readonly DeepReadonly<TenantIsolation>[];
  namespaces: readonly DeepReadonly<Namespace>[];
  /** Only used for diagnostics (pods that opt into an exposure their tenant does not declare). */
  pods?: readonly DeepReadonly<PodLabels>[];
  settings: DeepReadonly<CompilerSettings>;
}

export interface NamespaceConflict {
  namespace: string;
  /** Every tenant that claims the namespace, sorted. */
  tenants: string[];
}

export interface TenantResult {
  name: string;
  mode: TenantMode;
  /** Namespaces that get this tenant's policies: claimed by it alone. Sorted. */
  members: string[];
  /** Namespaces this tenant claims together with other tenants: deny-only. Sorted. */
  conflicts: NamespaceConflict[];
  /** Why the tenant cannot be compiled; non-empty means its members get deny-only. */
  errors: string[];
  /** Things worth a look that do not stop compilation (unresolved peers, missing namespaces). */
  warnings: string[];
  /**
   * The policies Enforce maintains for this tenant in its members (conflicted namespaces
   * excluded). For an Audit tenant these are the policies it would maintain.
   */
  policies: NetworkPolicy[];
}

/** A namespace that must carry `netfence.dev/member=<tenant>`. */
export interface MemberLabel {
  namespace: string;
  tenant: string;
}

export interface CompileResult {
  /** What the operator writes: Enforce tenants' policies plus conflict denies. Sorted by namespace, name. */
  policies: NetworkPolicy[];
  /**
   * With `settings.memberLabel`: the namespaces that must carry MEMBER_LABEL and its value, sorted
   * by namespace; every other namespace must not carry it. Empty without the setting.
   */
  memberLabels: MemberLabel[];
  /** One entry per tenant, sorted by name. */
  tenants: TenantResult[];
  /** Conflicted namespaces, sorted. */
  conflicts: NamespaceConflict[];
}

type Tenant = DeepReadonly<TenantIsolation>;
type Ns = DeepReadonly<Namespace>;
type NsLabels = ReadonlyMap<string, Readonly<Record<string, string>>>;

interface Claims {
  /** namespace -> claiming tenant names */
  byNamespace: Map<string, string[]>;
  missing: Map<string, string[]>;
}

function effectiveMode(t: Tenant): TenantMode {
  return t.spec?.mode === 'Audit' ? 'Audit' : 'Enforce';
}

function usesLabelMembership(t: Tenant): boolean {
  const spec = t.spec ?? {};
  return spec.labelMembership ?? (spec.namespaces === undefined && spec.namespaceSelector === undefined);
}

/**
 * What a compile may reuse from earlier ones: the templates of the last compile that completed
 * with this cache (by a digest of their JSON), and `previous`, the policy a caller still holds for a
 * namespace and name (the last plan's). A policy equal to what the compile would make there is
 * returned as is, so consecutive results share what did not change.
 */
export class CompileCache {
  /** @internal */
  templates = new Map<string, PolicyTemplate>();
  constructor(readonly previous: (namespace: string, name: string) => DeepReadonly<NetworkPolicy> | undefined = () => undefined) {}
}

/** Items (namespaces, pods, policies) one step of `compileSteps` handles at most between two yields. */
export const STEP = 256;

/** The steps of `compileSteps`: each `yield` is a point where the caller may pause. */
export type Steps<T> = Generator<void, T, void>;

/** Labels as the API server stores them: the immutable name label always present; the member label, netfence's output, left out. */
function* labelsByNamespace(namespaces: ReadonlyMap<string, Ns>): Steps<NsLabels> {
  const out = new Map<string, Record<string, string>>();
  let n = 0;
  for (const [name, ns] of namespaces) {
    const labels: Record<string, string> = { ...(ns.metadata.labels ?? {}), [NAMESPACE_NAME_LABEL]: name };
    delete labels[MEMBER_LABEL];
    out.set(name, labels);
    if (++n % STEP === 0) yield;
  }
  return out;
}

/** Which namespaces each tenant claims, before conflicts are resolved. */
function* claimNamespaces(tenants: readonly Tenant[], labels: NsLabels, excluded: ReadonlySet<string>): Steps<Claims> {
  const byNamespace = new Map<string, string[]>();
  const missing = new Map<string, string[]>();
  const byLabel = new Map<string, string[]>();
  let n = 0;
  for (const [name, l] of labels) {
    if (++n % STEP === 0) yield;
    const v = l[TENANT_LABEL];
    if (v === undefined || excluded.has(name)) continue;
    const list = byLabel.get(v) ?? [];
    list.push(name);
    byLabel.set(v, list);
  }
  for (const t of tenants) {
    const name = t.metadata.name;
    const claimed = new Set<string>();
    for (const n of t.spec?.namespaces ?? []) {
      if (labels.has(n)) claimed.add(n);
      else {
        const list = missing.get(name);
        if (list === undefined) missing.set(name, [n]);
        else list.push(n);
      }
    }
    const sel = t.spec?.namespaceSelector;
    if (sel !== undefined) {
      for (const [n, l] of labels) {
        if (!excluded.has(n) && matchesSelector(sel, l)) claimed.add(n);
      }
    }
    if (usesLabelMembership(t)) for (const n of byLabel.get(name) ?? []) claimed.add(n);
    for (const n of claimed) {
      const list = byNamespace.get(n) ?? [];
      list.push(name);
      byNamespace.set(n, list);
    }
    // A selector visits every namespace: one tenant per step.
    yield;
  }
  n = 0;
  for (const list of byNamespace.values()) {
    if (list.length > 1) list.sort(compareStrings);
    if (++n % STEP === 0) yield;
  }
  return { byNamespace, missing };
}

function nameSelector(names: readonly string[]): LabelSelector {
  return { matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: 'In', values: [...names] }] };
}

const METADATA = CLOUD_METADATA;

function compareJson(a: unknown, b: unknown): number {
  return compareStrings(JSON.stringify(a), JSON.stringify(b));
}

function sortedUnique<T>(items: readonly T[]): T[] {
  const byKey = new Map<string, T>();
  for (const i of items) byKey.set(JSON.stringify(i), i);
  return [...byKey.entries()].sort(([a], [b]) => compareStrings(a, b)).map(([, v]) => v);
}

function compilePorts(ports: readonly DeepReadonly<PortSpec>[] | undefined): NetworkPolicyPort[] | undefined {
  if (ports === undefined || ports.length === 0) return undefined;
  const out = ports.map((p) => {
    const np: NetworkPolicyPort = { protocol: p.protocol ?? 'TCP' };
    if (p.port !== undefined) np.port = p.port;
    if (p.endPort !== undefined) np.endPort = p.endPort;
    return np;
  });
  const unique = sortedUnique(out);
  return unique.sort((a, b) => {
    if (a.protocol !== b.protocol) return compareStrings(a.protocol ?? '', b.protocol ?? '');
    const ak = typeof a.port === 'number' ? a.port : -1;
    const bk = typeof b.port === 'number' ? b.port : -1;
    if (ak !== bk) return ak - bk;
    return compareJson(a, b);
  });
}

/** The context one tenant's peers resolve in. */
interface Resolver {
  labels: NsLabels;
  membersOf: ReadonlyMap<string, readonly string[]>;
  memberLabel: boolean;
}

/** The namespaces of a tenant's members: by the member label, or by name. */
function membersSelector(tenant: string, members: readonly string[], byLabel: boolean): LabelSelector {
  return byLabel ? { matchLabels: { [MEMBER_LABEL]: tenant } } : nameSelector(members);
}

/**
 * An ipBlock of `cidr` minus `except`, plus the cloud metadata prefixes it covers unless
 * `allowCloudMetadata`; a reason instead when cloud metadata covers all of `cidr`.
 */
function ipBlockPeer(cidr: Cidr, except: readonly Cidr[], allowCloudMetadata: boolean): NetworkPolicyPeer | string {
  const all = [...except];
  if (!allowCloudMetadata) {
    for (const m of METADATA) {
      if (cidrContains(m, cidr)) return `cidr ${formatCidr(cidr)} lies inside cloud metadata ${formatCidr(m)}; set allowCloudMetadata to allow it`;
      if (cidrContains(cidr, m) && !all.some((e) => cidrContains(e, m))) all.push(m);
    }
  }
  const exceptText = [...new Set(all.sort(compareCidrs).map(formatCidr))];
  return { ipBlock: exceptText.length > 0 ? { cidr: formatCidr(cidr), except: exceptText } : { cidr: formatCidr(cidr) } };
}

/**
 * The ipBlocks of an internet peer: each block with its own ranges and the peer's except
 * entries inside it. Never a reason: no block lies inside a cloud metadata prefix.
 */
function internetPeers(peer: DeepReadonly<Peer>): NetworkPolicyPeer[] {
  const extra = (peer.except ?? []).map((e) => parseCidr(e) as Cidr);
  return INTERNET_IP_BLOCKS.map((b) => ipBlockPeer(b.cidr, [...b.except, ...extra.filter((e) => cidrContains(b.cidr, e))], false) as NetworkPolicyPeer);
}

/** One declared peer as the NetworkPolicyPeers of one rule, or a reason it resolves to nothing. */
function resolvePeer(peer: DeepReadonly<Peer>, r: Resolver): NetworkPolicyPeer[] | string {
  const withPods = (np: NetworkPolicyPeer): NetworkPolicyPeer[] => {
    if (peer.podSelector !== undefined) np.podSelector = canonicalSelector(peer.podSelector);
    return [np];
  };
  if (peer.tenant !== undefined) {
    const members = r.membersOf.get(peer.tenant);
    if (members === undefined) return `peer tenant ${JSON.stringify(peer.tenant)} does not exist`;
    if (members.length === 0) return `peer tenant ${JSON.stringify(peer.tenant)} has no member namespaces`;
    return withPods({ namespaceSelector: membersSelector(peer.tenant, members, r.memberLabel) });
  }
  if (peer.namespaces !== undefined) {
    const names = [...new Set(peer.namespaces)].sort(compareStrings);
    return withPods({ namespaceSelector: nameSelector(names) });
  }
  if (peer.namespaceSelector !== undefined) {
    if (isEmptySelector(peer.namespaceSelector)) return withPods({ namespaceSelector: {} });
    const names: string[] = [];
    for (const [name, l] of r.labels) {
      if (matchesSelector(peer.namespaceSelector, l)) names.push(name);
    }
    if (names.length === 0) return `namespaceSelector ${JSON.stringify(peer.namespaceSelector)} matches no namespace`;
    return withPods({ namespaceSelector: nameSelector(names) });
  }
  if (peer.cidr !== undefined) {
    const block = ipBlockPeer(
      parseCidr(peer.cidr) as Cidr,
      (peer.except ?? []).map((e) => parseCidr(e) as Cidr),
      peer.allowCloudMetadata === true,
    );
    return typeof block === 'string' ? block : [block];
  }
  if (peer.internet === true) return internetPeers(peer);
  return 'peer names no tenant, namespaces, namespaceSelector, cidr or internet';
}

interface RuleDraft {
  peers: NetworkPolicyPeer[];
  ports: NetworkPolicyPort[] | undefined;
}

function draftRules(
  peers: readonly DeepReadonly<Peer>[],
  defaultPorts: readonly DeepReadonly<PortSpec>[] | undefined,
  r: Resolver,
  where: string,
  warnings: string[],
): RuleDraft[] {
  const drafts: RuleDraft[] = [];
  for (const [i, peer] of peers.entries()) {
    const resolved = resolvePeer(peer, r);
    if (typeof resolved === 'string') {
      warnings.push(`${where}[${i}]: ${resolved}; the peer allows nothing`);
      continue;
    }
    drafts.push({ peers: resolved, ports: compilePorts(peer.ports ?? defaultPorts) });
  }
  return sortedUnique(drafts);
}

function ingressRules(drafts: readonly RuleDraft[]): NetworkPolicyIngressRule[] {
  return drafts.map((d) => (d.ports === undefined ? { from: d.peers } : { from: d.peers, ports: d.ports }));
}

function egressRules(drafts: readonly RuleDraft[]): NetworkPolicyEgressRule[] {
  return drafts.map((d) => (d.ports === undefined ? { to: d.peers } : { to: d.peers, ports: d.ports }));
}

function ownerReferences(owners: readonly Tenant[]): OwnerReference[] | undefined {
  const withUid = owners.filter((o) => o.metadata.uid !== undefined && o.metadata.uid !== '');
  if (withUid.length === 0) return undefined;
  return withUid.map((o) => {
    const ref: OwnerReference = { apiVersion: API_VERSION, kind: KIND, name: o.metadata.name, uid: o.metadata.uid as string };
    if (withUid.length === 1) {
      ref.controller = true;
      ref.blockOwnerDeletion = true;
    }
    return ref;
  });
}

type PolicySpecOut = NetworkPolicy['spec'];

/** What every namespace of one tenant (or one conflict) shares: frozen and reused. */
interface PolicyTemplate {
  name: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  spec: PolicySpecOut;
}

function template(name: string, role: PolicyRole, owners: readonly Tenant[], spec: PolicySpecOut, claimants?: readonly string[]): PolicyTemplate {
  // Keys in sorted order, so the YAML is stable.
  const labels: Record<string, string> = { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [POLICY_ROLE_LABEL]: role };
  const t: PolicyTemplate = { name, labels, spec };
  if (claimants !== undefined) t.annotations = { [CONFLICT_ANNOTATION]: claimants.join(',') };
  else if (owners.length === 1) labels[POLICY_TENANT_LABEL] = (owners[0] as Tenant).metadata.name;
  const refs = ownerReferences(owners);
  if (refs !== undefined) t.ownerReferences = refs;
  return deepFreeze(t);
}

function instantiate(t: PolicyTemplate, namespace: string): NetworkPolicy {
  const metadata: NetworkPolicy['metadata'] = { name: t.name, namespace, labels: t.labels };
  if (t.annotations !== undefined) metadata.annotations = t.annotations;
  if (t.ownerReferences !== undefined) metadata.ownerReferences = t.ownerReferences;
  return Object.freeze({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: Object.freeze(metadata), spec: t.spec });
}

const DENY_SPEC: PolicySpecOut = deepFreeze({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });

function denyTemplate(owners: readonly Tenant[], claimants?: readonly string[]): PolicyTemplate {
  return template(POLICY_NAMES.defaultDeny, 'default-deny', owners, DENY_SPEC, claimants);
}

/** The policies every member namespace of a compilable tenant gets, sorted by name. */
function tenantTemplates(
  t: Tenant,
  members: readonly string[],
  rules: { ingress: RuleDraft[]; egress: RuleDraft[]; exposures: { name: string; drafts: RuleDraft[] }[] },
  settings: DeepReadonly<CompilerSettings>,
): PolicyTemplate[] {
  const owners = [t];
  const out: PolicyTemplate[] = [denyTemplate(owners)];
  const tenant = membersSelector(t.metadata.name, members, settings.memberLabel);
  out.push(
    template(POLICY_NAMES.sameTenant, 'same-tenant', owners, {
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ namespaceSelector: tenant }] }],
      egress: [{ to: [{ namespaceSelector: tenant }] }],
    }),
  );
  if (t.spec?.egress?.dns !== false) {
    out.push(
      template(POLICY_NAMES.dns, 'dns', owners, {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [
          {
            to: [
              {
                namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: settings.dns.namespace } },
                podSelector: canonicalSelector({ matchLabels: { ...settings.dns.podLabels } }),
              },
            ],
            ports: [
              { protocol: 'TCP', port: settings.dns.port },
              { protocol: 'UDP', port: settings.dns.port },
            ],
          },
        ],
      }),
    );
  }
  if (rules.ingress.length > 0) {
    out.push(template(POLICY_NAMES.ingress, 'ingress', owners, { podSelector: {}, policyTypes: ['Ingress'], ingress: ingressRules(rules.ingress) }));
  }
  if (rules.egress.length > 0) {
    out.push(template(POLICY_NAMES.egress, 'egress', owners, { podSelector: {}, policyTypes: ['Egress'], egress: egressRules(rules.egress) }));
  }
  for (const e of rules.exposures) {
    if (e.drafts.length === 0) continue;
    out.push(
      template(`${POLICY_NAMES.exposurePrefix}${e.name}`, 'exposure', owners, {
        podSelector: { matchLabels: { [`${EXPOSE_LABEL_PREFIX}${e.name}`]: EXPOSE_LABEL_VALUE } },
        policyTypes: ['Ingress'],
        ingress: ingressRules(e.drafts),
      }),
    );
  }
  return out.sort((a, b) => compareStrings(a.name, b.name));
}

/** Pods that opt into an exposure their tenant does not declare, or with a value other than "true". */
function* exposureLabelWarnings(pods: readonly DeepReadonly<PodLabels>[], tenantOf: ReadonlyMap<string, Tenant>): Steps<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  let n = 0;
  for (const pod of pods) {
    if (++n % STEP === 0) yield;
    const t = tenantOf.get(pod.namespace);
    if (t === undefined || pod.labels === undefined) continue;
    for (const k in pod.labels) {
      if (!k.startsWith(EXPOSE_LABEL_PREFIX)) continue;
      const v = pod.labels[k];
      const exposure = k.slice(EXPOSE_LABEL_PREFIX.length);
      const declared = (t.spec?.exposures ?? []).some((e) => e.name === exposure);
      let problem: string | undefined;
      if (!declared) problem = `pod ${pod.namespace}/${pod.name} has label ${k} but tenant declares no exposure ${JSON.stringify(exposure)}`;
      else if (v !== EXPOSE_LABEL_VALUE) problem = `pod ${pod.namespace}/${pod.name} has label ${k}=${JSON.stringify(v)}; only "true" opts in`;
      if (problem === undefined) continue;
      const list = out.get(t.metadata.name);
      if (list === undefined) out.set(t.metadata.name, [problem]);
      else list.push(problem);
    }
  }
  for (const list of out.values()) list.sort(compareStrings);
  return out;
}

/** The NetworkPolicies netfence maintains for `input` (see the module comment). */
export function compile(input: CompileInput, cache?: CompileCache): CompileResult {
  const steps = compileSteps(input, cache);
  for (;;) {
    const next = steps.next();
    if (next.done === true) return next.value;
  }
}

/**
 * `compile(input)` in steps: yields after every tenant and every STEP namespaces, pods or
 * policies; returns the same result. Everything it returns is frozen as it is built, so no
 * step walks the whole result at the end.
 */
export function* compileSteps(input: CompileInput, cache?: CompileCache): Steps<CompileResult> {
  // Without a cache every policy is a new object; with one, templates equal to the last
  // compile's are taken from it, and the caller's policies built from them are reused.
  const used = new Map<string, PolicyTemplate>();
  const shared = new Map<PolicyTemplate, PolicyTemplate>();
  const policy = (t: PolicyTemplate, namespace: string): NetworkPolicy => {
    if (cache === undefined) return instantiate(t, namespace);
    let tpl = shared.get(t);
    if (tpl === undefined) {
      // A digest of the JSON, not the JSON: the cache holds one key per template across compiles.
      const key = createHash('sha1').update(JSON.stringify(t)).digest('base64');
      tpl = used.get(key) ?? cache.templates.get(key) ?? t;
      used.set(key, tpl);
      shared.set(t, tpl);
    }
    const p = cache.previous(namespace, tpl.name) as NetworkPolicy | undefined;
    const m = p?.metadata;
    if (p !== undefined && m !== undefined && p.spec === tpl.spec && m.labels === tpl.labels && m.annotations === tpl.annotations && m.ownerReferences === tpl.ownerReferences)
      return p;
    return instantiate(tpl, namespace);
  };
  const tenants = [...input.tenants].sort((a, b) => compareStrings(a.metadata.name, b.metadata.name));
  const namespaces = new Map<string, Ns>([...input.namespaces].sort((a, b) => compareStrings(a.metadata.name, b.metadata.name)).map((n) => [n.metadata.name, n]));
  yield;
  const labels = yield* labelsByNamespace(namespaces);
  const excluded = new Set(input.settings.excludedNamespaces);
  const tenantByName = new Map<string, Tenant>(tenants.map((t) => [t.metadata.name, t]));
  const claims = yield* claimNamespaces(tenants, labels, excluded);

  const membersOf = new Map<string, string[]>(tenants.map((t) => [t.metadata.name, []]));
  const conflictsOf = new Map<string, NamespaceConflict[]>(tenants.map((t) => [t.metadata.name, []]));
  const conflicts: NamespaceConflict[] = [];
  const tenantOfNamespace = new Map<string, Tenant>();
  // Namespace names are visited in sorted order, so member lists come out sorted.
  let n = 0;
  for (const ns of namespaces.keys()) {
    if (++n % STEP === 0) yield;
    const owners = claims.byNamespace.get(ns);
    if (owners === undefined) continue;
    if (owners.length === 1) {
      const owner = owners[0] as string;
      membersOf.get(owner)?.push(ns);
      tenantOfNamespace.set(ns, tenantByName.get(owner) as Tenant);
    } else {
      conflicts.push(deepFreeze({ namespace: ns, tenants: [...owners] }));
      for (const o of owners) conflictsOf.get(o)?.push(deepFreeze({ namespace: ns, tenants: [...owners] }));
    }
  }
  const resolver: Resolver = { labels, membersOf, memberLabel: input.settings.memberLabel };
  const podWarnings = yield* exposureLabelWarnings(input.pods ?? [], tenantOfNamespace);

  const byNamespace = new Map<string, NetworkPolicy[]>();
  const write = (p: NetworkPolicy): void => {
    const list = byNamespace.get(p.metadata.namespace);
    if (list === undefined) byNamespace.set(p.metadata.namespace, [p]);
    else list.push(p);
  };
  const results: TenantResult[] = [];
  for (const t of tenants) {
    const name = t.metadata.name;
    const mode = effectiveMode(t);
    const members = membersOf.get(name) ?? [];
    const errors = compileProblems(t);
    const warnings: string[] = [];
    for (const n of claims.missing.get(name) ?? []) warnings.push(`spec.namespaces: namespace ${JSON.stringify(n)} does not exist`);
    for (const c of conflictsOf.get(name) ?? []) warnings.push(`namespace ${c.namespace} is claimed by tenants ${c.tenants.join(', ')}: deny-only`);
    let templates: PolicyTemplate[];
    if (errors.length > 0) {
      templates = [denyTemplate([t])];
    } else {
      const spec = t.spec ?? {};
      const rules = {
        ingress: draftRules(spec.ingress?.from ?? [], undefined, resolver, 'spec.ingress.from', warnings),
        egress: draftRules(spec.egress?.to ?? [], undefined, resolver, 'spec.egress.to', warnings),
        exposures: [...(spec.exposures ?? [])]
          .sort((a, b) => compareStrings(a.name, b.name))
          .map((e) => ({ name: e.name, drafts: draftRules(e.from ?? [], e.ports, resolver, `spec.exposures[${e.name}].from`, warnings) })),
      };
      templates = tenantTemplates(t, members, rules, input.settings);
    }
    const policies: NetworkPolicy[] = [];
    for (const [i, ns] of members.entries()) {
      for (const tpl of templates) policies.push(policy(tpl, ns));
      if ((i + 1) % STEP === 0) yield;
    }
    if (mode === 'Enforce') for (const p of policies) write(p);
    for (const w of podWarnings.get(name) ?? []) warnings.push(w);
    if (members.length === 0 && (conflictsOf.get(name) ?? []).length === 0) warnings.push('tenant has no member namespaces');
    const conflictsOfTenant = Object.freeze(conflictsOf.get(name) ?? []);
    results.push(
      Object.freeze({
        name,
        mode,
        members: Object.freeze([...members]),
        conflicts: conflictsOfTenant,
        errors: Object.freeze(errors),
        warnings: Object.freeze(warnings),
        policies: Object.freeze(policies),
      }) as TenantResult,
    );
    yield;
  }

  n = 0;
  for (const c of conflicts) {
    if (++n % STEP === 0) yield;
    const enforcing = c.tenants.map((n) => tenantByName.get(n) as Tenant).filter((t) => effectiveMode(t) === 'Enforce');
    if (enforcing.length > 0) write(policy(denyTemplate(enforcing, c.tenants), c.namespace));
  }
  // Each namespace's policies come from one tenant's sorted templates or one conflict deny,
  // so visiting namespaces in sorted order yields policies sorted by namespace, then name.
  const written: NetworkPolicy[] = [];
  const memberLabels: MemberLabel[] = [];
  n = 0;
  for (const ns of namespaces.keys()) {
    if (++n % STEP === 0) yield;
    for (const p of byNamespace.get(ns) ?? []) written.push(p);
    const tenant = tenantOfNamespace.get(ns);
    // A name that cannot be a label value (the CRD refuses it) labels nothing: such a tenant
    // cannot compile, so its members are deny-only and no rule of it selects by label.
    if (input.settings.memberLabel && tenant !== undefined && labelValueProblem(tenant.metadata.name) === undefined)
      memberLabels.push(Object.freeze({ namespace: ns, tenant: tenant.metadata.name }));
  }
  if (cache !== undefined) cache.templates = used;
  // Every element is frozen already: freeze the lists and the result, not everything again.
  return Object.freeze({
    policies: Object.freeze(written),
    memberLabels: Object.freeze(memberLabels),
    tenants: Object.freeze(results),
    conflicts: Object.freeze(conflicts),
  }) as CompileResult;
}

/**
 * The namespaces as the operator leaves them: MEMBER_LABEL set where `result.memberLabels` says
 * and removed everywhere else, other labels untouched; unchanged without `settings.memberLabel`.
 * What the offline analysis reads, since generated rules select members by that label.
 */
export function withMemberLabels<N extends DeepReadonly<Namespace>>(namespaces: readonly N[], result: DeepReadonly<CompileResult>, settings: DeepReadonly<CompilerSettings>): N[] {
  if (!settings.memberLabel) return [...namespaces];
  const tenantOf = new Map(result.memberLabels.map((m) => [m.namespace, m.tenant]));
  return namespaces.map((ns) => {
    const labels = ns.metadata.labels ?? {};
    const want = tenantOf.get(ns.metadata.name);
    if (labels[MEMBER_LABEL] === want) return ns;
    const next: Record<string, string> = { ...labels };
    if (want === undefined) delete next[MEMBER_LABEL];
    else next[MEMBER_LABEL] = want;
    return { ...ns, metadata: { ...ns.metadata, labels: next } };
  });
}
