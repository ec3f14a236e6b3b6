/**
 * The one language the analysis speaks: rules whose peers are absolute (a peer never depends
 * on the namespace it was written in) and whose ports may still name container ports.
 * NetworkPolicies and TenantIsolation declarations both translate into it, so one engine
 * answers "what is allowed" and "what is declared". Pure.
 */
import type { DeepReadonly, LabelSelector, NetworkPolicy } from '../api/k8s.js';
import type { Cidr } from '../core/cidr.js';
import { compilePolicy, type CompiledPeer, type CompiledPort, type CompiledRule } from '../evaluator/compile.js';

export type { CompiledPort } from '../evaluator/compile.js';

export type NamespaceMatch =
  | { kind: 'names'; names: readonly string[] }
  /** Against the namespace's labels, `kubernetes.io/metadata.name` included; `{}` matches all. */
  | { kind: 'selector'; selector: DeepReadonly<LabelSelector> };

export type Peer =
  | { kind: 'pods'; namespaces: NamespaceMatch; pods: DeepReadonly<LabelSelector> }
  /** An address in `cidr` and in none of `except`: pod addresses and addresses outside the cluster. */
  | { kind: 'addresses'; cidr: Cidr; except: readonly Cidr[] };

export interface Rule {
  /** null: every peer. An empty list matches nothing. */
  peers: readonly Peer[] | null;
  /** null: every port and protocol. */
  ports: readonly CompiledPort[] | null;
}

/** One policy (or one tenant's declarations) that selects a pod for one direction. */
export interface RuleSource {
  /** A policy's name (its namespace is the pod's), or what a declaration is, e.g. `team-a egress`. */
  name: string;
  rules: readonly Rule[];
}

function absolutePeer(peer: CompiledPeer, policyNamespace: string): Peer | undefined {
  switch (peer.kind) {
    case 'nothing':
      return undefined;
    case 'ipBlock':
      return { kind: 'addresses', cidr: peer.cidr, except: peer.except };
    case 'pods':
      return {
        kind: 'pods',
        namespaces: peer.namespaceSelector === undefined ? { kind: 'names', names: [policyNamespace] } : { kind: 'selector', selector: peer.namespaceSelector },
        pods: peer.podSelector ?? {},
      };
  }
}

function absoluteRule(rule: CompiledRule, policyNamespace: string): Rule {
  return {
    peers: rule.peers === null ? null : rule.peers.flatMap((p) => absolutePeer(p, policyNamespace) ?? []),
    ports: rule.ports,
  };
}

export interface PolicyRules {
  namespace: string;
  name: string;
  podSelector: DeepReadonly<LabelSelector>;
  /** null when the policy does not isolate ingress. */
  ingress: RuleSource | null;
  egress: RuleSource | null;
}

/** A NetworkPolicy in the analysis's terms. Throws, naming the policy, on an unparseable CIDR. */
export function policyRules(policy: DeepReadonly<NetworkPolicy>): PolicyRules {
  const c = compilePolicy(policy as NetworkPolicy);
  const { namespace, name } = c.ref;
  const source = (rules: readonly CompiledRule[] | null): RuleSource | null => (rules === null ? null : { name, rules: rules.map((r) => absoluteRule(r, namespace)) });
  return { namespace, name, podSelector: c.podSelector, ingress: source(c.ingress), egress: source(c.egress) };
}
