/**
 * The `internet` peer (src/api/internet.ts): the lists are well formed, and every address
 * the compiled policies admit is inside a public block and outside every listed range, as
 * the evaluator sees the generated NetworkPolicies and as the analysis reads the declaration.
 */
import fc from 'fast-check';
import { CLOUD_METADATA_CIDRS } from '../../src/api/constants.js';
import { INTERNET_BLOCKS, INTERNET_IP_BLOCKS, internetBlockOf } from '../../src/api/internet.js';
import type { Peer as DeclaredPeer } from '../../src/api/types.js';
import { tenantFences } from '../../src/analysis/fences.js';
import type { Rule } from '../../src/analysis/rules.js';
import { defaultSettings } from '../../src/compiler/settings.js';
import { cidrContains, cidrContainsIP, cidrsOverlap, compareCidrs, formatCidr, formatIP, parseCidr, type Cidr, type IP } from '../../src/core/cidr.js';
import { buildEvaluator } from '../../src/evaluator/index.js';
import { compileWith, memberNs, pod, tenant } from '../fixtures/builders.js';

const RUNS = 1000;
const cidr = (text: string): Cidr => parseCidr(text) as Cidr;
const bits = (c: Cidr): number => (c.family === 4 ? 32 : 128);
const size = (c: Cidr): bigint => 1n << BigInt(bits(c) - c.prefix);

const blocks = INTERNET_BLOCKS.map((b) => ({
  block: cidr(b.cidr),
  except: b.except.map((r) => cidr(r.cidr)),
  outside: b.outside.map((r) => cidr(r.cidr)),
  kept: b.kept.map((r) => cidr(r.cidr)),
}));
const EXCEPT = blocks.flatMap((b) => b.except);
const OUTSIDE = blocks.flatMap((b) => b.outside);
const KEPT = blocks.flatMap((b) => b.kept);
const METADATA = CLOUD_METADATA_CIDRS.map(cidr);

describe('the ranges of the internet peer', () => {
  test('one block per family, IPv4 0.0.0.0/0 and IPv6 global unicast 2000::/3', () => {
    expect(INTERNET_BLOCKS.map((b) => [b.family, b.cidr])).toEqual([
      [4, '0.0.0.0/0'],
      [6, '2000::/3'],
    ]);
  });

  test('are written canonically and match the parsed copy the compiler and the analysis use', () => {
    for (const b of INTERNET_BLOCKS) for (const r of [b, ...b.except, ...b.outside, ...b.kept]) expect(formatCidr(cidr(r.cidr))).toBe(r.cidr);
    expect(INTERNET_IP_BLOCKS).toEqual(blocks.map((b) => ({ cidr: b.block, except: b.except })));
  });

  test('except entries lie strictly inside their block, sorted and disjoint', () => {
    for (const b of blocks) {
      for (const e of b.except) expect([formatCidr(e), cidrContains(b.block, e) && e.prefix > b.block.prefix]).toEqual([formatCidr(e), true]);
      expect([...b.except].sort(compareCidrs)).toEqual(b.except);
      b.except.forEach((e, i) => b.except.slice(i + 1).forEach((f) => expect([formatCidr(e), formatCidr(f), cidrsOverlap(e, f)]).toEqual([formatCidr(e), formatCidr(f), false])));
    }
  });

  test('outside entries share no address with their block, kept entries are in it and in no except entry', () => {
    for (const b of blocks) {
      for (const o of b.outside) expect([formatCidr(o), o.family === b.block.family && !cidrsOverlap(o, b.block)]).toEqual([formatCidr(o), true]);
      for (const k of b.kept) expect([formatCidr(k), cidrContains(b.block, k) && !b.except.some((e) => cidrsOverlap(e, k))]).toEqual([formatCidr(k), true]);
    }
  });

  test('leave every cloud metadata prefix out: inside an except entry or outside the block (P3)', () => {
    for (const m of METADATA) {
      const b = blocks.find((x) => x.block.family === m.family);
      expect(b !== undefined && (b.except.some((e) => cidrContains(e, m)) || !cidrsOverlap(b.block, m))).toBe(true);
    }
  });

  test('internetBlockOf finds the block that holds a prefix strictly, and no block for the rest', () => {
    expect(internetBlockOf(cidr('8.8.8.0/24'))?.cidr).toEqual(cidr('0.0.0.0/0'));
    expect(internetBlockOf(cidr('2606:4700::/32'))?.cidr).toEqual(cidr('2000::/3'));
    for (const c of ['0.0.0.0/0', '2000::/3', '2000::/2', '::/0', 'fd00::/8', '4000::/3']) expect([c, internetBlockOf(cidr(c))]).toEqual([c, undefined]);
  });
});

/** Random addresses, weighted towards the listed ranges and their edges, where mistakes would hide. */
const addressArb: fc.Arbitrary<IP> = (() => {
  const inRange = (c: Cidr): fc.Arbitrary<IP> => fc.bigInt(0n, size(c) - 1n).map((o) => ({ family: c.family, value: c.base + o }));
  const ranges = [...blocks.map((b) => b.block), ...EXCEPT, ...OUTSIDE, ...KEPT, ...METADATA];
  const edges = ranges.flatMap((c) =>
    [c.base - 1n, c.base, c.base + size(c) - 1n, c.base + size(c)].filter((v) => v >= 0n && v < 1n << BigInt(bits(c))).map((value) => ({ family: c.family, value })),
  );
  return fc.oneof(inRange(cidr('0.0.0.0/0')), inRange(cidr('::/0')), fc.constantFrom(...ranges).chain(inRange), fc.constantFrom(...edges));
})();

/** What the lists say: in a block of its family and in none of that block's except entries, nor in `extra`. */
function publicByTheLists(ip: IP, extra: readonly Cidr[] = []): boolean {
  const b = blocks.find((x) => x.block.family === ip.family);
  return b !== undefined && cidrContainsIP(b.block, ip) && ![...b.except, ...extra].some((e) => cidrContainsIP(e, ip));
}

/** Whether a declared rule (the analysis's reading of the spec) admits an address. */
const declares = (rules: readonly Rule[], ip: IP): boolean =>
  rules.some((r) => r.peers?.some((p) => p.kind === 'addresses' && cidrContainsIP(p.cidr, ip) && !p.except.some((e) => cidrContainsIP(e, ip))) ?? true);

/** A tenant with one internet peer, both as generated policies (evaluator) and as declared (analysis). */
function scenario(peer: DeclaredPeer) {
  const namespaces = [memberNs('n', 'a')];
  const pods = [pod('n', 'web', { 'netfence.dev/expose-web': 'true' }, '10.1.0.5')];
  const tenants = [tenant('a', { egress: { to: [{ ...peer, ports: [{ port: 443 }] }] }, exposures: [{ name: 'web', from: [peer], ports: [{ port: 8443 }] }] })];
  const result = compileWith({ tenants, namespaces });
  expect(result.tenants[0]?.errors).toEqual([]);
  const ev = buildEvaluator({ namespaces, pods, policies: result.policies });
  const fence = tenantFences(tenants, result, defaultSettings()).tenants.get('a');
  const self = { kind: 'pod' as const, namespace: 'n', name: 'web' };
  return {
    egress: (ip: IP, port: number) => ev.evaluate(self, { kind: 'external', ip: formatIP(ip) }, port, 'TCP').allowed,
    ingress: (ip: IP, port: number) => ev.evaluate({ kind: 'external', ip: formatIP(ip) }, self, port, 'TCP').allowed,
    declaredEgress: (ip: IP) => declares(fence?.egress.rules ?? [], ip),
    declaredExposure: (ip: IP) => declares(fence?.exposures[0]?.source.rules ?? [], ip),
  };
}

describe('what an internet peer admits, through the evaluator and the analysis', () => {
  const plain = scenario({ internet: true });

  test('every address admitted is in a public block and outside every listed range; every other public address is admitted', () => {
    fc.assert(
      fc.property(addressArb, (ip) => {
        const allowed = plain.egress(ip, 443);
        const listed = [...EXCEPT, ...OUTSIDE, ...METADATA].filter((c) => cidrContainsIP(c, ip)).map(formatCidr);
        expect({ ip: formatIP(ip), allowed, listed }).toEqual({ ip: formatIP(ip), allowed: publicByTheLists(ip), listed: allowed ? [] : listed });
        if (allowed) expect(blocks.some((b) => cidrContainsIP(b.block, ip))).toBe(true);
        expect(plain.egress(ip, 80)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  test('the analysis declares exactly the addresses the generated policies admit, for egress and for an exposure', () => {
    fc.assert(
      fc.property(addressArb, (ip) => {
        expect({ ip: formatIP(ip), declared: plain.declaredEgress(ip) }).toEqual({ ip: formatIP(ip), declared: plain.egress(ip, 443) });
        expect({ ip: formatIP(ip), declared: plain.declaredExposure(ip) }).toEqual({ ip: formatIP(ip), declared: plain.ingress(ip, 8443) });
      }),
      { numRuns: RUNS },
    );
  });

  test('an exposure from the internet admits public sources only, on its ports', () => {
    fc.assert(
      fc.property(addressArb, (ip) => {
        expect({ ip: formatIP(ip), allowed: plain.ingress(ip, 8443) }).toEqual({ ip: formatIP(ip), allowed: publicByTheLists(ip) });
        expect(plain.ingress(ip, 443)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  test('except entries of the peer leave out more, in their own family, in policies and declaration alike', () => {
    const publicPrefix = fc.tuple(fc.constantFrom(...blocks.map((b) => b.block)), fc.integer({ min: 1, max: 64 }), fc.bigInt(0n, (1n << 128n) - 1n)).map(([b, extra, r]) => {
      const prefix = Math.min(b.prefix + extra, bits(b));
      const span = size(b);
      return cidr(`${formatIP({ family: b.family, value: b.base + (r % span) })}/${prefix}`);
    });
    fc.assert(
      fc.property(fc.uniqueArray(publicPrefix, { minLength: 1, maxLength: 3, selector: formatCidr }), fc.array(addressArb, { minLength: 20, maxLength: 20 }), (extra, probes) => {
        const s = scenario({ internet: true, except: extra.map(formatCidr) });
        const inside = extra.map((e) => ({ family: e.family, value: e.base + size(e) / 2n }));
        for (const ip of [...probes, ...inside]) {
          const want = publicByTheLists(ip, extra);
          expect({ ip: formatIP(ip), allowed: s.egress(ip, 443), declared: s.declaredEgress(ip) }).toEqual({ ip: formatIP(ip), allowed: want, declared: want });
        }
      }),
      { numRuns: 300 },
    );
  });
});
