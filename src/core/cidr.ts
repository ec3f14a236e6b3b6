/**
 * IPv4 and IPv6 addresses and CIDR prefixes as bigints. Pure; no dependency on node:net so
 * the same code runs in the CLI, the operator and the CEL functions of the validator.
 */

export type Family = 4 | 6;

export interface IP {
  family: Family;
  value: bigint;
}

export interface Cidr {
  family: Family;
  /** Network address: host bits cleared. */
  base: bigint;
  prefix: number;
}

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

function parseIPv4(s: string): bigint | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseIPv6(s: string): bigint | null {
  if (s.includes('%')) return null;
  let head = s;
  if (s.includes('.')) {
    // An embedded IPv4 tail (`::ffff:1.2.3.4`) stands for the last two groups.
    const lastColon = s.lastIndexOf(':');
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (v4 === null) return null;
    head = `${s.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const dbl = head.split('::');
  if (dbl.length > 2) return null;
  const groupsOf = (part: string): string[] | null => (part === '' ? [] : part.split(':'));
  const left = groupsOf(dbl[0] as string);
  const right = dbl.length === 2 ? groupsOf(dbl[1] as string) : [];
  if (left === null || right === null) return null;
  const total = left.length + right.length;
  if (dbl.length === 1 && total !== 8) return null;
  if (dbl.length === 2 && total > 7) return null;
  const groups = [...left, ...Array<string>(8 - total).fill('0'), ...right];
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return v;
}

export function parseIP(s: string): IP | null {
  if (s.includes(':')) {
    const v = parseIPv6(s);
    return v === null ? null : { family: 6, value: v };
  }
  const v = parseIPv4(s);
  return v === null ? null : { family: 4, value: v };
}

function mask(family: Family, prefix: number): bigint {
  const bits = BigInt(BITS[family]);
  const host = bits - BigInt(prefix);
  return ((1n << bits) - 1n) ^ ((1n << host) - 1n);
}

/** Parses `addr/prefix`; host bits are allowed and cleared (as the API server and CNIs do). */
export function parseCidr(s: string): Cidr | null {
  const slash = s.indexOf('/');
  if (slash < 0 || slash !== s.lastIndexOf('/')) return null;
  const ip = parseIP(s.slice(0, slash));
  const p = s.slice(slash + 1);
  if (ip === null || !/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
  const prefix = Number(p);
  if (prefix > BITS[ip.family]) return null;
  return { family: ip.family, base: ip.value & mask(ip.family, prefix), prefix };
}

export function isCidr(s: string): boolean {
  return parseCidr(s) !== null;
}

export function cidrContainsIP(c: Cidr, ip: IP): boolean {
  return c.family === ip.family && (ip.value & mask(c.family, c.prefix)) === c.base;
}

/** True when `outer` contains every address of `inner` (equal prefixes included). */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && outer.prefix <= inner.prefix && (inner.base & mask(outer.family, outer.prefix)) === outer.base;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

export function formatIP(ip: IP): string {
  if (ip.family === 4) {
    const v = ip.value;
    return [24n, 16n, 8n, 0n].map((s) => ((v >> s) & 0xffn).toString()).join('.');
  }
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((ip.value >> BigInt(i * 16)) & 0xffffn).toString(16));
  // Compress the longest run of zero groups (length >= 2), as RFC 5952 prescribes.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  const left = groups.slice(0, bestStart).join(':');
  const right = groups.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}

/** Canonical text: network address and prefix, e.g. `10.0.0.0/8`, `fd00:ec2::254/128`. */
export function formatCidr(c: Cidr): string {
  return `${formatIP({ family: c.family, value: c.base })}/${c.prefix}`;
}

/** Orders prefixes by family, then address, then prefix length. */
export function compareCidrs(a: Cidr, b: Cidr): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.base !== b.base) return a.base < b.base ? -1 : 1;
  return a.prefix - b.prefix;
}
