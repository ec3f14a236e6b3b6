/**
 * Fencing a namespace without a moment where an allowed flow fails.
 *
 * A NetworkPolicy isolates the pods it selects for its policyTypes as soon as it exists, so
 * the first allow written into an unfenced namespace cuts every flow it does not list:
 * `netfence-allow-dns` alone (Egress, every pod) leaves the pods DNS and nothing else until
 * the other allows land. Measured on kube-router (test/dataplane/lifecycle.test.ts) before
 * the bridge: 100-190 ms of refused connections between two pods of a joining namespace.
 *
 * So a namespace with no netfence policy at all gets one more policy first, the bridge:
 * every pod, Ingress and Egress, holding every rule of every allow the plan wants there.
 * While the bridge and any part of the plan exist, each pod is isolated both ways and allowed
 * at least what the whole plan allows it, so a flow the plan allows never fails; every other
 * flow is denied from the bridge's write, before the deny exists. One exception: a rule of
 * an allow that selects only some pods (an exposure: its labelled pods) holds for every pod
 * while the bridge lives, so an exposure's peers may reach unlabelled pods on its ports until
 * the bridge is deleted, right after the deny is written. Those flows were open before, as
 * the namespace had no policy (a user's own policies could have kept them shut: they are
 * open for that moment too). The bridge is never written into a namespace that has a netfence
 * policy, so a fenced namespace never sees it. It goes as soon as a write of the plan fails
 * (a quota, a refusal: the plan's own policies then stand alone, and the next pass writes no
 * bridge), and a bridge left by a crash is deleted by the next reconcile. Its tenant is not
 * Ready while it exists.
 */
import { POLICY_NAMES, POLICY_PREFIX, POLICY_ROLE_LABEL } from '../api/constants.js';
import type { NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule } from '../api/k8s.js';
import { effectivePolicyTypes } from '../evaluator/index.js';
import type { Policy } from './reconcile.js';

export const ONBOARDING_BRIDGE = `${POLICY_PREFIX}onboarding`;

/** The bridge for a namespace whose plan is `desired`, or undefined when the plan holds no allow. */
export function onboardingBridge(desired: readonly Policy[]): Policy | undefined {
  const deny = desired.find((p) => p.metadata.name === POLICY_NAMES.defaultDeny);
  const allows = desired.filter((p) => p !== deny);
  const owner = deny ?? allows[0];
  if (owner === undefined || allows.length === 0) return undefined;
  const ingress: NetworkPolicyIngressRule[] = [];
  const egress: NetworkPolicyEgressRule[] = [];
  for (const allow of allows) {
    const types = effectivePolicyTypes(allow.spec as NetworkPolicy['spec']);
    if (types.includes('Ingress')) ingress.push(...(structuredClone(allow.spec.ingress ?? []) as NetworkPolicyIngressRule[]));
    if (types.includes('Egress')) egress.push(...(structuredClone(allow.spec.egress ?? []) as NetworkPolicyEgressRule[]));
  }
  const metadata = structuredClone(owner.metadata) as NetworkPolicy['metadata'];
  metadata.labels = { ...metadata.labels, [POLICY_ROLE_LABEL]: 'onboarding' };
  const bridge: NetworkPolicy = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { ...metadata, name: ONBOARDING_BRIDGE },
    spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress, egress },
  };
  return bridge;
}
