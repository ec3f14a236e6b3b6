/**
 * What each tenant's TenantIsolation declares may cross its fence, read straight from the
 * spec. Pure.
 *
 * This is deliberately a second reading of the spec, independent of the policy compiler: the
 * compiler writes NetworkPolicies, this says what the tenant asked for, and `check` compares
 * what the policies allow against it. A compiler bug that opened a path would show up here
 * as a violation instead of being taken as intended.
 *
 * Guarantees: within one tenant everything is declared (that is not a rule here: the engine
 * treats a path between two members of one tenant as declared). Across the fence:
 * - ingress into a member pod: `spec.ingress.from`, and the `from` of each exposure whose
 *   label `netfence.dev/expose-<name>=true` the pod carries (peer ports, else the exposure's);
 * - egress from a member pod: the cluster DNS pods on the DNS port over UDP and TCP (unless
 *   `spec.egress.dns` is false), and `spec.egress.to`.
 * A `tenant` peer means the pods of that tenant's member namespaces; `namespaces` and
 * `namespaceSelector` mean the pods of those namespaces; `podSelector` narrows them; a `cidr`
 * peer means the addresses in it, minus `except`, minus cloud metadata unless
 * `allowCloudMetadata` is set; an `internet` peer means the addresses of each block of
 * src/api/internet.ts minus that block's ranges, minus `except`, minus cloud metadata.
 * Assumptions: membership comes from the compiler's result (who belongs to which tenant is
 * the fence's shape, not a permission).
 */
import { EXPOSE_LABEL_PREFIX, EXPOSE_LABEL_VALUE, NAMESPACE_NAME_LABEL } from '../api/constants.js';
import { INTERNET_IP_BLOCKS } from '../api/internet.js';
import type { DeepReadonly } from '../api/k8s.js';
import type { Peer as DeclaredPeer, PortSpec, TenantIsolation, TenantMode } from '../api/types.js';
import type { CompileResult } from '../compiler/compile.js';
import type { CompilerSettings } from '../compiler/settings.js';
import { cidrContains, parseCidr } from '../core/cidr.js';
import { compilePort } from '../evaluator/compile.js';
import { METADATA_CIDRS as METADATA } from './addresses.js';
import type { CompiledPort, Peer, Rule, RuleSource } from './rules.js';

export interface TenantFence {
  name: string;
  mode: TenantMode;
  members: readonly string[];
  /** Declared for every member pod. */
  ingress: RuleSource;
  egress: RuleSource;
  /** Declared in addition for pods that carry `label=true`. */
  exposures: readonly { name: string; label: string; source: RuleSource }[];
}

export interface Fences {
  tenants: ReadonlyMap<string, TenantFence>;
  /** The tenant a namespace belongs to; conflicted namespaces belong to none. */
  tenantOf: ReadonlyMap<string, string>;
}

/** Declared ports mean what a NetworkPolicy's ports mean: compiled as the evaluator compiles those. */
function declaredPorts(ports: readonly DeepReadonly<PortSpec>[] | undefined): CompiledPort[] | null {
  if (ports === undefined || ports.length === 0) return null;
  return ports.map(compilePort);
}

/** The peer as the analysis reads it: the peers of one rule; none when it stands for nothing. */
function declaredPeers(peer: DeepReadonly<DeclaredPeer>, membersOf: ReadonlyMap<string, readonly string[]>): Peer[] {
  const pods = peer.podSelector ?? {};
  if (peer.tenant !== undefined) {
    const members = membersOf.get(peer.tenant);
    return members === undefined ? [] : [{ kind: 'pods', namespaces: { kind: 'names', names: members }, pods }];
  }
  if (peer.namespaces !== undefined) return [{ kind: 'pods', namespaces: { kind: 'names', names: peer.namespaces }, pods }];
  if (peer.namespaceSelector !== undefined) return [{ kind: 'pods', namespaces: { kind: 'selector', selector: peer.namespaceSelector }, pods }];
  const except = (peer.except ?? []).flatMap((e) => parseCidr(e) ?? []);
  if (peer.cidr !== undefined) {
    const cidr = parseCidr(peer.cidr);
    if (cidr === null) return [];
    if (peer.allowCloudMetadata !== true) except.push(...METADATA.filter((m) => m.family === cidr.family));
    if (except.some((e) => cidrContains(e, cidr))) return [];
    return [{ kind: 'addresses', cidr, except }];
  }
  if (peer.internet === true) {
    return INTERNET_IP_BLOCKS.map((b) => ({
      kind: 'addresses',
      cidr: b.cidr,
      except: [...b.except, ...[...except, ...METADATA].filter((e) => e.family === b.cidr.family)],
    }));
  }
  return [];
}

function declaredRules(
  peers: readonly DeepReadonly<DeclaredPeer>[],
  fallbackPorts: readonly DeepReadonly<PortSpec>[] | undefined,
  membersOf: ReadonlyMap<string, readonly string[]>,
): Rule[] {
  return peers.flatMap((p) => {
    const declared = declaredPeers(p, membersOf);
    return declared.length === 0 ? [] : [{ peers: declared, ports: declaredPorts(p.ports ?? fallbackPorts) }];
  });
}

export function tenantFences(tenants: readonly DeepReadonly<TenantIsolation>[], compiled: DeepReadonly<CompileResult>, settings: DeepReadonly<CompilerSettings>): Fences {
  const membersOf = new Map<string, readonly string[]>(compiled.tenants.map((t) => [t.name, t.members]));
  const tenantOf = new Map<string, string>();
  for (const t of compiled.tenants) for (const m of t.members) tenantOf.set(m, t.name);
  const dnsRule: Rule = {
    peers: [
      {
        kind: 'pods',
        namespaces: { kind: 'selector', selector: { matchLabels: { [NAMESPACE_NAME_LABEL]: settings.dns.namespace } } },
        pods: { matchLabels: { ...settings.dns.podLabels } },
      },
    ],
    ports: [
      { protocol: 'UDP', kind: 'range', first: settings.dns.port, last: settings.dns.port },
      { protocol: 'TCP', kind: 'range', first: settings.dns.port, last: settings.dns.port },
    ],
  };
  const out = new Map<string, TenantFence>();
  for (const t of tenants) {
    const name = t.metadata.name;
    const result = compiled.tenants.find((r) => r.name === name);
    if (result === undefined) continue;
    const spec = t.spec ?? {};
    const egress = declaredRules(spec.egress?.to ?? [], undefined, membersOf);
    if (spec.egress?.dns !== false) egress.unshift(dnsRule);
    out.set(name, {
      name,
      mode: result.mode,
      members: result.members,
      ingress: { name: `${name} ingress`, rules: declaredRules(spec.ingress?.from ?? [], undefined, membersOf) },
      egress: { name: `${name} egress`, rules: egress },
      exposures: (spec.exposures ?? []).map((e) => ({
        name: e.name,
        label: `${EXPOSE_LABEL_PREFIX}${e.name}`,
        source: { name: `${name} exposure ${e.name}`, rules: declaredRules(e.from ?? [], e.ports, membersOf) },
      })),
    });
  }
  return { tenants: out, tenantOf };
}

/** The exposures of `fence` a pod with these labels opts into. */
export function exposuresOf(fence: TenantFence, labels: Readonly<Record<string, string>>): TenantFence['exposures'] {
  return fence.exposures.filter((e) => labels[e.label] === EXPOSE_LABEL_VALUE);
}
