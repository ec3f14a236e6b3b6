/**
 * Assertions on packets. A denial counts only when the same listener answers a control
 * probe from the node (which Kubernetes and kube-router always let reach a pod): a listener
 * that is down, or a probe that cannot run, fails the assertion instead of passing it.
 *
 * kube-router REJECTs what it denies (ICMP port unreachable: `refused` at once) where Calico
 * drops; only a refusal is a denial here (see verdictOf). The listener is known to be bound
 * (the agent reports ready only then, and the control reaches it), so a refusal comes from the
 * firewall. A timeout, `unreachable` and `broken` prove nothing and fail every assertion.
 */
import { verdictOf, type Dataplane, type DataplanePod } from '../dataplane.js';
import type { Agent, ProbeOptions, Proto, ProbeResult } from '../network.js';

export type Source = DataplanePod | Agent;

const describeSource = (from: Source, options?: ProbeOptions): string =>
  ('agent' in from ? `${from.namespace}/${from.name}` : from.name) + (options?.from ? ` from ${options.from}` : '');

/** One fresh probe; throws unless it connected to the listener named `expectPeer` (when given). */
export async function expectReaches(dp: Dataplane, from: Source, proto: Proto, host: string, port: number, expectPeer?: string, options?: ProbeOptions): Promise<ProbeResult> {
  const result = await dp.probe(from, proto, host, port, options);
  if (result.outcome !== 'connected' || (expectPeer !== undefined && result.peer !== expectPeer)) {
    throw new Error(`${describeSource(from, options)} -> ${proto} ${host}:${port}: expected to reach ${expectPeer ?? 'a listener'}, got ${JSON.stringify(result)}`);
  }
  return result;
}

/**
 * One fresh probe that must be denied, and the control from the node that must reach the same
 * listener (`listener`, the name its agent answers with, when given).
 */
export async function expectBlocked(dp: Dataplane, from: Source, proto: Proto, host: string, port: number, options?: ProbeOptions, listener?: string): Promise<ProbeResult> {
  const result = await dp.probe(from, proto, host, port, options);
  if (verdictOf(result) !== 'denied') throw new Error(`${describeSource(from, options)} -> ${proto} ${host}:${port}: expected a denial, got ${JSON.stringify(result)}`);
  const control = await dp.probe(dp.nodeAgent, proto, host, port);
  if (control.outcome !== 'connected' || (listener !== undefined && control.peer !== listener)) {
    throw new Error(`control node -> ${proto} ${host}:${port} did not reach ${listener ?? 'a listener'} (${JSON.stringify(control)}): the denial proves nothing`);
  }
  return result;
}
