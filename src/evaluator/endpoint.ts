/**
 * Endpoints of a connection: a pod named by namespace and name, or an address outside the
 * cluster; and the addresses of pods and nodes, read once for the evaluator and the
 * analysis alike. Pure.
 */
import type { DeepReadonly, Node, Pod } from '../api/k8s.js';
import { formatIP, parseIP, type IP } from '../core/cidr.js';

export type Endpoint = { kind: 'pod'; namespace: string; name: string } | { kind: 'external'; ip: string };

const IP_PREFIX = 'ip:';

/**
 * Reads `namespace/pod`, or an IP address with an optional `ip:` prefix (`10.0.0.1`,
 * `ip:fd00::1`). External addresses come back in canonical text, so equal addresses compare
 * equal. Throws an Error naming the input when it is neither.
 */
export function parseEndpoint(s: string): Endpoint {
  const text = s.trim();
  const explicitIP = text.startsWith(IP_PREFIX);
  const addr = explicitIP ? text.slice(IP_PREFIX.length) : text;
  const ip = parseIP(addr);
  if (ip !== null) return { kind: 'external', ip: formatIP(ip) };
  if (explicitIP) throw new Error(`endpoint ${JSON.stringify(s)}: ${JSON.stringify(addr)} is not an IP address`);
  // A namespace has no `/`; the rest is the pod: a Pod's name, a workload's `kind/name`, or a
  // possible pod `*{key=value}` whose label keys may hold one.
  const slash = text.indexOf('/');
  if (slash > 0 && slash < text.length - 1) return { kind: 'pod', namespace: text.slice(0, slash), name: text.slice(slash + 1) };
  throw new Error(`endpoint ${JSON.stringify(s)}: expected namespace/pod or an IP address`);
}

/** The text parseEndpoint reads back: `namespace/pod`, or the bare address. */
export function formatEndpoint(e: Endpoint): string {
  return e.kind === 'pod' ? `${e.namespace}/${e.name}` : e.ip;
}

/**
 * Does a pod of this name stand for one pod? A Pod's name is a DNS subdomain; the names no
 * Pod can carry stand for any number of pods: a workload's template (`deployment/web`) and a
 * possible pod (`*`, `*{app=web}`). Traffic from such a pod "to itself" is between two of the
 * pods it stands for.
 */
export function isSinglePodName(name: string): boolean {
  return !name.includes('/') && !name.startsWith('*');
}

/**
 * A pod's addresses: status.podIP and status.podIPs, once each (empty strings are no
 * address). Throws an Error naming the pod and the field when one is not an IP address (the
 * API server never stores such a pod; the input readers refuse it).
 */
export function podAddresses(pod: DeepReadonly<Pod>): IP[] {
  const fields: [string, string][] = [];
  if (pod.status?.podIP !== undefined && pod.status.podIP !== '') fields.push(['status.podIP', pod.status.podIP]);
  (pod.status?.podIPs ?? []).forEach(({ ip }, i) => {
    if (ip !== '') fields.push([`status.podIPs[${i}].ip`, ip]);
  });
  const seen = new Set<string>();
  const out: IP[] = [];
  for (const [field, text] of fields) {
    const ip = parseIP(text);
    if (ip === null) throw new Error(`Pod ${pod.metadata.namespace}/${pod.metadata.name}: ${field} ${JSON.stringify(text)} is not an IP address`);
    const key = formatIP(ip);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(ip);
    }
  }
  return out;
}

/**
 * A node's InternalIP addresses, the ones its kubelet and host processes reach its pods
 * from. Throws an Error naming the node when one is not an IP address.
 */
export function nodeInternalIPs(node: DeepReadonly<Node>): IP[] {
  const out: IP[] = [];
  (node.status?.addresses ?? []).forEach((a, i) => {
    if (a.type !== 'InternalIP') return;
    const ip = parseIP(a.address);
    if (ip === null) throw new Error(`Node ${node.metadata.name}: status.addresses[${i}].address ${JSON.stringify(a.address)} is not an IP address`);
    out.push(ip);
  });
  return out;
}

/** Are two addresses the same? */
export function sameIP(a: IP, b: IP): boolean {
  return a.family === b.family && a.value === b.value;
}
