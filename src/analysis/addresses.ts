/**
 * Addresses outside the cluster, cut into the pieces that policies can tell apart. Pure.
 *
 * Given the CIDRs that appear anywhere (ipBlock `cidr` and `except`, declared CIDR peers, the
 * cloud metadata prefixes), every address of IPv4 and IPv6 falls into exactly one piece: a
 * prefix minus the listed prefixes inside it. Two addresses of one piece are matched by the
 * same ipBlocks, so one representative address per piece answers for all of them.
 *
 * Guarantees: pieces are disjoint and cover both address families; each has a representative
 * address inside it; the order is deterministic (family, then address).
 */
import { CLOUD_METADATA } from '../api/internet.js';
import { cidrContains, compareCidrs, formatCidr, parseCidr, type Cidr, type IP } from '../core/cidr.js';

export interface AddressPiece {
  /** The prefix the piece lies in. */
  cidr: Cidr;
  /** Listed prefixes directly inside `cidr` that belong to other pieces, sorted. */
  holes: Cidr[];
  representative: IP;
  /** Inside a cloud metadata prefix. */
  metadata: boolean;
  /** `10.0.0.0/8`, or `0.0.0.0/0 except 10.0.0.0/8, 169.254.169.254/32` (long lists shortened). */
  text: string;
}

const ROOTS = [parseCidr('0.0.0.0/0') as Cidr, parseCidr('::/0') as Cidr];
/** The cloud metadata prefixes, parsed (src/api/internet.ts). */
export const METADATA_CIDRS: readonly Cidr[] = CLOUD_METADATA;
const METADATA = METADATA_CIDRS;
const MAX_LISTED_HOLES = 4;

function size(c: Cidr): bigint {
  return 1n << BigInt((c.family === 4 ? 32 : 128) - c.prefix);
}

/** The first address of `c` outside every hole, or undefined when the holes cover it. */
function firstFree(c: Cidr, holes: readonly Cidr[]): bigint | undefined {
  let next = c.base;
  for (const h of holes) {
    if (h.base > next) break;
    next = h.base + size(h) > next ? h.base + size(h) : next;
  }
  return next < c.base + size(c) ? next : undefined;
}

function describe(c: Cidr, holes: readonly Cidr[]): string {
  if (holes.length === 0) return formatCidr(c);
  const listed = holes.slice(0, MAX_LISTED_HOLES).map(formatCidr);
  const more = holes.length > MAX_LISTED_HOLES ? ` and ${holes.length - MAX_LISTED_HOLES} more` : '';
  return `${formatCidr(c)} except ${listed.join(', ')}${more}`;
}

/** The pieces that `cidrs` (plus the metadata prefixes and both whole families) cut the address space into. */
export function addressPieces(cidrs: Iterable<Cidr>): AddressPiece[] {
  const byKey = new Map<string, Cidr>();
  for (const c of [...ROOTS, ...METADATA, ...cidrs]) byKey.set(formatCidr(c), c);
  const all = [...byKey.values()].sort(compareCidrs);
  // Sorted by family, address, then prefix length, a prefix's parent is the nearest earlier
  // prefix that contains it; a stack of open ancestors finds it in one pass.
  const children = new Map<Cidr, Cidr[]>();
  const stack: Cidr[] = [];
  for (const c of all) {
    while (stack.length > 0 && !cidrContains(stack[stack.length - 1] as Cidr, c)) stack.pop();
    const parent = stack[stack.length - 1];
    if (parent !== undefined) children.get(parent)?.push(c);
    children.set(c, []);
    stack.push(c);
  }
  const pieces: AddressPiece[] = [];
  for (const c of all) {
    const holes = children.get(c) ?? [];
    const free = firstFree(c, holes);
    if (free === undefined) continue;
    pieces.push({
      cidr: c,
      holes,
      representative: { family: c.family, value: free },
      metadata: METADATA.some((m) => cidrContains(m, c)),
      text: describe(c, holes),
    });
  }
  return pieces;
}
