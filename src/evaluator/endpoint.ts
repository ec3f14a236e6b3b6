/**
 * Endpoints of a connection: a pod named by namespace and name, or an address outside the
 * cluster. Pure.
 */
import { formatIP, parseIP } from '../core/cidr.js';

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
