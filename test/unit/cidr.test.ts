/** src/core/cidr.ts: addresses and prefixes, by table and by property. */
import fc from 'fast-check';
import { cidrContains, cidrContainsIP, cidrsOverlap, compareCidrs, formatCidr, formatIP, isCidr, parseCidr, parseIP, type Cidr, type IP } from '../../src/core/cidr.js';

function ip(s: string): IP {
  const v = parseIP(s);
  if (v === null) throw new Error(`test setup: ${s} is not an IP`);
  return v;
}

function cidr(s: string): Cidr {
  const c = parseCidr(s);
  if (c === null) throw new Error(`test setup: ${s} is not a CIDR`);
  return c;
}

describe('parseIP reads IPv4 and IPv6 text', () => {
  test.each([
    ['0.0.0.0', 4, 0n],
    ['255.255.255.255', 4, 0xffffffffn],
    ['10.0.1.2', 4, 0x0a000102n],
    ['169.254.169.254', 4, 0xa9fea9fen],
    ['::', 6, 0n],
    ['::1', 6, 1n],
    ['1::', 6, 1n << 112n],
    ['fd00:ec2::254', 6, (0xfd00n << 112n) | (0xec2n << 96n) | 0x254n],
    ['FD00:EC2::254', 6, (0xfd00n << 112n) | (0xec2n << 96n) | 0x254n],
    ['1:2:3:4:5:6:7:8', 6, 0x0001_0002_0003_0004_0005_0006_0007_0008n],
    ['0001:0002:0003:0004:0005:0006:0007:0008', 6, 0x0001_0002_0003_0004_0005_0006_0007_0008n],
    ['1::8', 6, (1n << 112n) | 8n],
    ['1:2:3:4:5:6:7::', 6, 0x0001_0002_0003_0004_0005_0006_0007_0000n],
    ['::2:3:4:5:6:7:8', 6, 0x0000_0002_0003_0004_0005_0006_0007_0008n],
    ['::ffff:1.2.3.4', 6, 0xffff_0102_0304n],
    ['::1.2.3.4', 6, 0x0102_0304n],
    ['64:ff9b::192.0.2.33', 6, (0x64n << 112n) | (0xff9bn << 96n) | 0xc000_0221n],
    ['1:2:3:4:5:6:1.2.3.4', 6, 0x0001_0002_0003_0004_0005_0006_0102_0304n],
  ])('%s is IPv%d address %d', (text, family, value) => {
    expect(parseIP(text)).toEqual({ family, value });
  });

  test.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.0.0.0',
    '01.2.3.4',
    '1.2.3.-4',
    ' 1.2.3.4',
    '0x1.2.3.4',
    '1.2.3.4/32',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7:8::',
    '::1:2:3:4:5:6:7:8',
    ':1::',
    '1::2:',
    '12345::',
    '::g',
    '1.2.3.4::',
    '::1.2.3',
    '::ffff:01.2.3.4',
    '1:2:3:4:5:6:7:1.2.3.4',
    'fe80::1%eth0',
  ])('%j is not an address', (text) => {
    expect(parseIP(text)).toBeNull();
  });
});

describe('formatIP writes canonical text (dotted quad, RFC 5952)', () => {
  test.each([
    ['10.0.1.2', '10.0.1.2'],
    ['::', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['FD00:0EC2:0:0:0:0:0:0254', 'fd00:ec2::254'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['1:2:3:4:5:6:7:0', '1:2:3:4:5:6:7:0'],
    ['::ffff:1.2.3.4', '::ffff:102:304'],
  ])('%s is written %s', (text, canonical) => {
    expect(formatIP(ip(text))).toBe(canonical);
  });
});

describe('parseCidr reads prefixes and clears host bits', () => {
  test.each([
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['192.168.242.213/24', '192.168.242.0/24'],
    ['10.1.2.3/0', '0.0.0.0/0'],
    ['10.1.2.3/32', '10.1.2.3/32'],
    ['10.1.2.3/31', '10.1.2.2/31'],
    ['0.0.0.0/4', '0.0.0.0/4'],
    ['fd00:ec2::254/128', 'fd00:ec2::254/128'],
    ['fd00:ec2::254/32', 'fd00:ec2::/32'],
    ['2001:db8:ffff::1/33', '2001:db8:8000::/33'],
    ['::/0', '::/0'],
    ['::ffff:10.0.0.1/120', '::ffff:a00:0/120'],
  ])('%s is %s', (text, canonical) => {
    expect(formatCidr(cidr(text))).toBe(canonical);
  });

  test.each(['10.0.0.0', '10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/08', '10.0.0.0/8/8', '::/129', '10.0.0/8', '/8', '10.0.0.0/'])('%j is not a CIDR', (text) => {
    expect(parseCidr(text)).toBeNull();
    expect(isCidr(text)).toBe(false);
  });
});

describe('containment and overlap', () => {
  test.each([
    ['10.0.0.0/8', '10.255.255.255', true],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['192.168.242.213/24', '192.168.242.249', true],
    ['0.0.0.0/0', '255.255.255.255', true],
    ['0.0.0.0/0', '::1', false],
    ['::/0', '1.2.3.4', false],
    ['::ffff:0.0.0.0/96', '::ffff:1.2.3.4', true],
    ['10.0.1.11/32', '10.0.1.11', true],
    ['10.0.1.11/32', '10.0.1.10', false],
    ['fd00::/64', 'fd00::1:2', true],
    ['fd00::/64', 'fd00:0:0:1::1', false],
  ])('%s contains %s: %s', (c, a, inside) => {
    expect(cidrContainsIP(cidr(c), ip(a))).toBe(inside);
  });

  test.each([
    ['10.0.0.0/8', '10.1.0.0/16', true, true],
    ['10.1.0.0/16', '10.0.0.0/8', false, true],
    ['10.0.0.0/8', '10.0.0.0/8', true, true],
    ['10.0.0.0/8', '11.0.0.0/8', false, false],
    ['0.0.0.0/0', '::/0', false, false],
    ['fd00::/8', 'fd00:ec2::254/128', true, true],
  ])('%s contains %s: %s; they overlap: %s', (a, b, contains, overlap) => {
    expect(cidrContains(cidr(a), cidr(b))).toBe(contains);
    expect(cidrsOverlap(cidr(a), cidr(b))).toBe(overlap);
    expect(cidrsOverlap(cidr(b), cidr(a))).toBe(overlap);
  });

  test('compareCidrs orders by family, then address, then prefix length', () => {
    const sorted = ['::/0', '10.0.0.0/16', '10.0.0.0/8', '9.0.0.0/8', 'fd00::/8', '0.0.0.0/0'].map(cidr).sort(compareCidrs).map(formatCidr);
    expect(sorted).toEqual(['0.0.0.0/0', '9.0.0.0/8', '10.0.0.0/8', '10.0.0.0/16', '::/0', 'fd00::/8']);
  });
});

const ipv4 = fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }).map((value): IP => ({ family: 4, value }));
/** IPv6 values with runs of zero groups, so `::` compression is exercised. */
const ipv6 = fc
  .array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 })
  .map((groups): IP => ({ family: 6, value: groups.reduce((v, g) => (v << 16n) | BigInt(g), 0n) }));
const anyIP = fc.oneof(ipv4, ipv6);
const prefixFor = (a: IP): fc.Arbitrary<number> => fc.integer({ min: 0, max: a.family === 4 ? 32 : 128 });

describe('properties', () => {
  test('formatted addresses parse back to the same address', () => {
    fc.assert(fc.property(anyIP, (a) => expect(parseIP(formatIP(a))).toEqual(a)));
  });

  test('IPv6 text agrees with the WHATWG URL serializer of the platform', () => {
    fc.assert(
      fc.property(ipv6, (a) => {
        const text = formatIP(a);
        expect(new URL(`http://[${text}]/`).hostname).toBe(`[${text}]`);
      }),
    );
  });

  test('a CIDR contains its network address and every address sharing its prefix, and no address of the other family', () => {
    fc.assert(
      fc.property(anyIP, anyIP, (a, other) => {
        const bits = a.family === 4 ? 32 : 128;
        for (const prefix of [0, 1, bits >> 1, bits - 1, bits]) {
          const c = cidr(`${formatIP(a)}/${prefix}`);
          expect(cidrContainsIP(c, a)).toBe(true);
          expect(cidrContainsIP(c, { family: c.family, value: c.base })).toBe(true);
          const host = BigInt(bits - prefix);
          const sameNetwork = other.family === a.family && other.value >> host === a.value >> host;
          expect(cidrContainsIP(c, other)).toBe(sameNetwork);
        }
      }),
    );
  });

  test('formatting a parsed CIDR is canonical: it parses back to itself', () => {
    fc.assert(
      fc.property(
        anyIP.chain((a) => fc.tuple(fc.constant(a), prefixFor(a))),
        ([a, prefix]) => {
          const c = cidr(`${formatIP(a)}/${prefix}`);
          expect(cidr(formatCidr(c))).toEqual(c);
          expect(c.base & ((1n << BigInt((a.family === 4 ? 32 : 128) - prefix)) - 1n)).toBe(0n);
        },
      ),
    );
  });

  test('a shorter prefix of an address contains every longer one and sorts first', () => {
    fc.assert(
      fc.property(
        anyIP.chain((a) => fc.tuple(fc.constant(a), prefixFor(a), prefixFor(a))),
        ([a, p, q]) => {
          const outer = cidr(`${formatIP(a)}/${Math.min(p, q)}`);
          const inner = cidr(`${formatIP(a)}/${Math.max(p, q)}`);
          expect(cidrContains(outer, inner)).toBe(true);
          expect(cidrContains(inner, outer)).toBe(p === q);
          expect(cidrsOverlap(inner, outer)).toBe(true);
          expect(compareCidrs(outer, inner)).toBeLessThanOrEqual(0);
          expect(Math.sign(compareCidrs(outer, inner)) + Math.sign(compareCidrs(inner, outer))).toBe(0);
        },
      ),
    );
  });
});
