/**
 * Sets of (protocol, port) as sorted, disjoint, non-adjacent inclusive ranges per protocol.
 * Immutable values; every operation returns a new set. Pure.
 *
 * Guarantees: equal sets have equal `key()` and `format()`; ranges stay within 1-65535.
 * Caveats: NetworkPolicy knows only TCP, UDP and SCTP. A rule without ports also admits
 * traffic without ports (ICMP); `ALL_PORTS` stands for that too, and formats as `any`.
 */
import { PROTOCOLS, type Protocol } from '../api/k8s.js';

export const MIN_PORT = 1;
export const MAX_PORT = 65535;

/** Flattened inclusive ranges: [first0, last0, first1, last1, ...], sorted and merged. */
type Ranges = readonly number[];

export class PortSet {
  private readonly empty: boolean;
  private readonly all: boolean;

  private constructor(private readonly ranges: Readonly<Record<Protocol, Ranges>>) {
    this.empty = PROTOCOLS.every((p) => ranges[p].length === 0);
    this.all = PROTOCOLS.every((p) => ranges[p].length === 2 && ranges[p][0] === MIN_PORT && ranges[p][1] === MAX_PORT);
  }

  static readonly EMPTY = new PortSet({ TCP: [], UDP: [], SCTP: [] });
  static readonly ALL = new PortSet({ TCP: [MIN_PORT, MAX_PORT], UDP: [MIN_PORT, MAX_PORT], SCTP: [MIN_PORT, MAX_PORT] });

  /** Ports first..last of one protocol; empty when first > last. Throws outside 1-65535. */
  static range(protocol: Protocol, first: number, last: number = first): PortSet {
    if (!Number.isInteger(first) || !Number.isInteger(last) || first < MIN_PORT || last > MAX_PORT) {
      throw new RangeError(`port range ${first}-${last} is not within ${MIN_PORT}-${MAX_PORT}`);
    }
    if (first > last) return PortSet.EMPTY;
    return new PortSet({ ...PortSet.EMPTY.ranges, [protocol]: [first, last] });
  }

  static protocol(protocol: Protocol): PortSet {
    return PortSet.range(protocol, MIN_PORT, MAX_PORT);
  }

  static union(sets: Iterable<PortSet>): PortSet {
    let out = PortSet.EMPTY;
    for (const s of sets) out = out.union(s);
    return out;
  }

  isEmpty(): boolean {
    return this.empty;
  }

  isAll(): boolean {
    return this.all;
  }

  has(protocol: Protocol, port: number): boolean {
    const r = this.ranges[protocol];
    for (let i = 0; i < r.length; i += 2) {
      if (port < (r[i] as number)) return false;
      if (port <= (r[i + 1] as number)) return true;
    }
    return false;
  }

  /** The ranges of one protocol as [first, last] pairs. */
  rangesOf(protocol: Protocol): [number, number][] {
    const r = this.ranges[protocol];
    const out: [number, number][] = [];
    for (let i = 0; i < r.length; i += 2) out.push([r[i] as number, r[i + 1] as number]);
    return out;
  }

  union(other: PortSet): PortSet {
    if (other.empty || this === other || this.all) return this;
    if (this.empty || other.all) return other;
    return this.combine(other, (a, b) => a || b);
  }

  intersect(other: PortSet): PortSet {
    if (this.empty || other.empty) return PortSet.EMPTY;
    if (other.all || this === other) return this;
    if (this.all) return other;
    return this.combine(other, (a, b) => a && b);
  }

  subtract(other: PortSet): PortSet {
    if (this.empty || other.empty) return this;
    if (other.all || this === other) return PortSet.EMPTY;
    return this.combine(other, (a, b) => a && !b);
  }

  /** Some port is in both sets; the same as `!intersect(other).isEmpty()`, without building the intersection. */
  overlaps(other: PortSet): boolean {
    if (this.empty || other.empty) return false;
    return this.all || other.all || this === other || rangesOverlap(this.ranges, other.ranges);
  }

  equals(other: PortSet): boolean {
    return this.key() === other.key();
  }

  /** A compact identity: `TCP:1-2,5-5|UDP:|SCTP:`. */
  key(): string {
    return PROTOCOLS.map(
      (p) =>
        `${p}:${this.rangesOf(p)
          .map(([a, b]) => `${a}-${b}`)
          .join(',')}`,
    ).join('|');
  }

  /**
   * For people: `any`, `TCP 443`, `TCP 53, UDP 53`, `TCP 8000-8100, 9090`, `TCP any, UDP 53`,
   * `none`.
   */
  format(): string {
    if (this.isEmpty()) return 'none';
    if (this.isAll()) return 'any';
    const parts: string[] = [];
    for (const p of PROTOCOLS) {
      const r = this.rangesOf(p);
      if (r.length === 0) continue;
      if (r.length === 1 && r[0]?.[0] === MIN_PORT && r[0]?.[1] === MAX_PORT) parts.push(`${p} any`);
      else parts.push(`${p} ${r.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(', ')}`);
    }
    return parts.join('; ');
  }

  /** One port (and protocol) in the set, for examples and point checks; undefined when empty. */
  sample(): { protocol: Protocol; port: number } | undefined {
    for (const p of PROTOCOLS) {
      const r = this.ranges[p];
      if (r.length > 0) return { protocol: p, port: r[0] as number };
    }
    return undefined;
  }

  /** Sweeps both range lists; `keep(inThis, inOther)` decides each elementary segment. */
  private combine(other: PortSet, keep: (a: boolean, b: boolean) => boolean): PortSet {
    const out = {} as Record<Protocol, number[]>;
    for (const p of PROTOCOLS) out[p] = sweep(this.ranges[p], other.ranges[p], keep);
    return new PortSet(out);
  }
}

function rangesOverlap(a: Readonly<Record<Protocol, Ranges>>, b: Readonly<Record<Protocol, Ranges>>): boolean {
  for (const p of PROTOCOLS) {
    const x = a[p];
    const y = b[p];
    let i = 0;
    let j = 0;
    while (i < x.length && j < y.length) {
      if ((x[i + 1] as number) < (y[j] as number)) i += 2;
      else if ((y[j + 1] as number) < (x[i] as number)) j += 2;
      else return true;
    }
  }
  return false;
}

/**
 * Walks the elementary segments of 1-65535 that both range lists cut, in one pass and
 * without sorting; `keep(inA, inB)` decides each segment (never a segment in neither).
 */
function sweep(a: Ranges, b: Ranges, keep: (x: boolean, y: boolean) => boolean): number[] {
  const out: number[] = [];
  let ia = 0;
  let ib = 0;
  let first = MIN_PORT;
  while (ia < a.length || ib < b.length) {
    while (ia < a.length && (a[ia + 1] as number) < first) ia += 2;
    while (ib < b.length && (b[ib + 1] as number) < first) ib += 2;
    const inA = ia < a.length && (a[ia] as number) <= first;
    const inB = ib < b.length && (b[ib] as number) <= first;
    // The segment ends where either list next starts or stops covering.
    const endA = inA ? (a[ia + 1] as number) + 1 : ia < a.length ? (a[ia] as number) : MAX_PORT + 1;
    const endB = inB ? (b[ib + 1] as number) + 1 : ib < b.length ? (b[ib] as number) : MAX_PORT + 1;
    const end = Math.min(endA, endB);
    if ((inA || inB) && keep(inA, inB)) {
      if (out.length > 0 && out[out.length - 1] === first - 1) out[out.length - 1] = end - 1;
      else out.push(first, end - 1);
    }
    first = end;
  }
  return out;
}
