/** PortSet: its set operations agree with plain sets of (protocol, port), port by port. */
import fc from 'fast-check';
import { PROTOCOLS, type Protocol } from '../../src/api/k8s.js';
import { MAX_PORT, PortSet } from '../../src/analysis/ports.js';

/** Ports near the edges and the range ends, where an off-by-one would show. */
const PORTS = [1, 2, 3, 9, 10, 11, 19, 20, 21, 30, 31, 99, 100, 101, 65534, 65535];

const rangeArb = fc.record({
  protocol: fc.constantFrom<Protocol>(...PROTOCOLS),
  first: fc.constantFrom(...PORTS),
  length: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 20 }), fc.constant(MAX_PORT)),
});
const setArb = fc.oneof(
  fc.array(rangeArb, { maxLength: 5 }).map((rs) => PortSet.union(rs.map((r) => PortSet.range(r.protocol, r.first, Math.min(MAX_PORT, r.first + r.length))))),
  fc.constantFrom(PortSet.ALL, PortSet.EMPTY),
);

const members = (s: PortSet): string[] => PROTOCOLS.flatMap((p) => PORTS.filter((n) => s.has(p, n)).map((n) => `${p}/${n}`));

describe('PortSet', () => {
  test('union, intersect and subtract agree with the sets of their members', () => {
    fc.assert(
      fc.property(setArb, setArb, (a, b) => {
        const inA = new Set(members(a));
        const inB = new Set(members(b));
        const all = PROTOCOLS.flatMap((p) => PORTS.map((n) => `${p}/${n}`));
        expect(members(a.union(b))).toEqual(all.filter((m) => inA.has(m) || inB.has(m)));
        expect(members(a.intersect(b))).toEqual(all.filter((m) => inA.has(m) && inB.has(m)));
        expect(members(a.subtract(b))).toEqual(all.filter((m) => inA.has(m) && !inB.has(m)));
        expect(a.overlaps(b)).toBe(!a.intersect(b).isEmpty());
      }),
      { numRuns: 2000 },
    );
  });

  test('results are canonical: equal sets have equal keys, whichever way they were built', () => {
    fc.assert(
      fc.property(setArb, setArb, (a, b) => {
        expect(a.union(b).key()).toBe(b.union(a).key());
        expect(a.intersect(b).key()).toBe(b.intersect(a).key());
        expect(a.subtract(b).union(a.intersect(b)).key()).toBe(a.key());
        expect(a.union(b).isAll()).toBe(a.union(b).key() === PortSet.ALL.key());
        expect(a.subtract(b).isEmpty()).toBe(a.subtract(b).key() === PortSet.EMPTY.key());
      }),
      { numRuns: 2000 },
    );
  });

  test('adjacent and overlapping ranges merge into one', () => {
    const s = PortSet.union([PortSet.range('TCP', 10, 20), PortSet.range('TCP', 21, 30), PortSet.range('TCP', 25, 40), PortSet.range('UDP', 53)]);
    expect(s.rangesOf('TCP')).toEqual([[10, 40]]);
    expect(s.format()).toBe('TCP 10-40; UDP 53');
    expect(PortSet.ALL.subtract(PortSet.range('UDP', 53)).format()).toBe('TCP any; UDP 1-52, 54-65535; SCTP any');
  });
});
