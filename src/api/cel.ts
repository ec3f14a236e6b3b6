/**
 * A CEL environment for the CRD's `x-kubernetes-validations` rules, built on
 * @marcbachmann/cel-js, with the parts of the Kubernetes CEL libraries the rules may use:
 * the network library (`isCIDR`, `cidr`, `net.CIDR` methods; `isIP`, `ip`, `net.IP.family`)
 * with the API server's parsing rules, on top of src/core/cidr.ts.
 *
 * Guarantees: `isCIDR` and `cidr` accept exactly what Kubernetes' `netip.ParsePrefix`-based
 * parser accepts (no leading zeros, no zones, no IPv4-mapped IPv6 addresses; host bits
 * allowed and kept, as there), and `containsCIDR` / `containsIP` compare as Kubernetes does.
 *
 * Leaves out: cost accounting (the API server enforces its budget when it accepts the CRD),
 * `oldSelf` (transition rules need the stored object; the offline validator has none), and
 * the other Kubernetes libraries (lists, regex, quantity, url, authz, format, semver).
 */
import { Environment, type ParseResult } from '@marcbachmann/cel-js';
import { cidrContains, cidrContainsIP, formatIP, parseCidr, parseIP, type Cidr, type IP } from '../core/cidr.js';

/** The value of the CEL type `net.IP`. */
export class CelIP {
  constructor(readonly ip: IP) {}
}

/** The value of the CEL type `net.CIDR`: the address as written (host bits kept) and the prefix length. */
export class CelCIDR {
  constructor(
    readonly ip: IP,
    readonly prefix: number,
  ) {}

  /** The network, host bits cleared. */
  network(): Cidr {
    return parseCidr(`${formatIP(this.ip)}/${this.prefix}`) as Cidr;
  }
}

/** Kubernetes rejects IPv4-mapped IPv6 addresses (::ffff:0:0/96) wherever it parses an IP or a CIDR. */
function isIPv4MappedIPv6(ip: IP): boolean {
  return ip.family === 6 && ip.value >> 32n === 0xffffn;
}

/** Parses an IP address as the Kubernetes CEL library does; null when it would fail. */
export function kubernetesIP(s: string): IP | null {
  const ip = parseIP(s);
  return ip === null || isIPv4MappedIPv6(ip) ? null : ip;
}

/** Parses a CIDR as the Kubernetes CEL library does; null when it would fail. */
export function kubernetesCIDR(s: string): CelCIDR | null {
  if (parseCidr(s) === null) return null;
  const slash = s.indexOf('/');
  const ip = kubernetesIP(s.slice(0, slash));
  return ip === null ? null : new CelCIDR(ip, Number(s.slice(slash + 1)));
}

function mustCIDR(s: string): CelCIDR {
  const c = kubernetesCIDR(s);
  if (c === null) throw new Error(`network address parse error during conversion from string: ${JSON.stringify(s)} is not a CIDR`);
  return c;
}

function mustIP(s: string): CelIP {
  const ip = kubernetesIP(s);
  if (ip === null) throw new Error(`IP address parse error during conversion from string: ${JSON.stringify(s)} is not an IP address`);
  return new CelIP(ip);
}

function containsCIDR(outer: CelCIDR, inner: CelCIDR): boolean {
  return cidrContains(outer.network(), inner.network());
}

function newEnvironment(): Environment {
  return new Environment({ unlistedVariablesAreDyn: false })
    .registerType('net.IP', CelIP)
    .registerType('net.CIDR', CelCIDR)
    .registerVariable('self', 'dyn')
    .registerFunction('isIP(string): bool', (s: string) => kubernetesIP(s) !== null)
    .registerFunction('ip(string): net.IP', mustIP)
    .registerFunction('net.IP.family(): int', (ip: CelIP) => BigInt(ip.ip.family))
    .registerFunction('string(net.IP): string', (ip: CelIP) => formatIP(ip.ip))
    .registerFunction('isCIDR(string): bool', (s: string) => kubernetesCIDR(s) !== null)
    .registerFunction('cidr(string): net.CIDR', mustCIDR)
    .registerFunction('net.CIDR.containsCIDR(net.CIDR): bool', containsCIDR)
    .registerFunction('net.CIDR.containsCIDR(string): bool', (c: CelCIDR, s: string) => containsCIDR(c, mustCIDR(s)))
    .registerFunction('net.CIDR.containsIP(net.IP): bool', (c: CelCIDR, ip: CelIP) => cidrContainsIP(c.network(), ip.ip))
    .registerFunction('net.CIDR.containsIP(string): bool', (c: CelCIDR, s: string) => cidrContainsIP(c.network(), mustIP(s).ip))
    .registerFunction('net.CIDR.prefixLength(): int', (c: CelCIDR) => BigInt(c.prefix))
    .registerFunction('net.CIDR.ip(): net.IP', (c: CelCIDR) => new CelIP(c.ip))
    .registerFunction('net.CIDR.masked(): net.CIDR', (c: CelCIDR) => {
      const n = c.network();
      return new CelCIDR({ family: n.family, value: n.base }, n.prefix);
    })
    .registerFunction('string(net.CIDR): string', (c: CelCIDR) => `${formatIP(c.ip)}/${c.prefix}`);
}

const environment = newEnvironment();
const compiled = new Map<string, ParseResult>();

/**
 * The compiled form of a rule, cached. Throws when the rule does not parse or does not
 * type-check with `self` as dyn: a rule the API server would also refuse to compile.
 */
export function compileRule(rule: string): ParseResult {
  let program = compiled.get(rule);
  if (program === undefined) {
    program = environment.parse(rule);
    const checked = program.check();
    if (!checked.valid) throw new Error(`CEL rule ${JSON.stringify(rule)} does not type-check: ${checked.error?.message ?? 'unknown error'}`);
    if (checked.type !== 'bool' && checked.type !== 'dyn') throw new Error(`CEL rule ${JSON.stringify(rule)} has type ${checked.type}, not bool`);
    compiled.set(rule, program);
  }
  return program;
}

/** Evaluates a rule with `self` bound to a CEL value (integers as bigint); throws on evaluation errors. */
export function evaluateRule(rule: string, self: unknown): unknown {
  return compileRule(rule)({ self });
}
