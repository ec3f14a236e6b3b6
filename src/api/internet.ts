/**
 * What an `internet: true` peer means: the public internet of both address families, as one
 * ipBlock per family. The one source of the ranges: the compiler writes the ipBlocks from
 * here, the analysis reads the declaration from here, and the CRD's rule for `except` is
 * built from the blocks here.
 *
 * Facts: the IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 as amended by
 * RFC 8190; entries up to 2025), the IPv4 multicast block (RFC 5771) and the IPv6 addressing
 * architecture (RFC 4291).
 *
 * The choices, entry by entry, fail closed:
 * - IPv4 starts from 0.0.0.0/0; IPv6 from the global unicast block 2000::/3 only, so every
 *   IPv6 range outside it (unique-local, link-local, multicast, the prefixes that embed an
 *   IPv4 address, whatever IANA assigns there later) is out without being listed in `except`.
 * - Left out: every entry the registries do not mark globally reachable; the tunnel and
 *   translation prefixes whose traffic ends at an IPv4 address written into the IPv6 address
 *   or behind a relay (6to4, Teredo, NAT64, 6to4 relay anycast), so a private IPv4 address
 *   cannot be reached through them; whole blocks of IETF protocol assignments, although a few
 *   of their parts are globally reachable anycast services (PCP, TURN, DNS-SD SRP, AMT,
 *   AS112-v6, ORCHIDv2, DRIP): none is a workload's destination, and a `cidr` peer can name one.
 * - Kept, on purpose: the entries inside a block that the registries mark globally reachable
 *   and that carry nothing but their own service (AS112, AMT relays); `kept` lists them.
 * - Cloud metadata (169.254.169.254, fd00:ec2::254) lies inside 169.254.0.0/16 and outside
 *   2000::/3: no `internet` peer reaches it (P3), and none can opt in.
 *
 * Caveat: a cluster whose pod, service or node addresses are public (global IPv6 pod ranges)
 * should name them in the peer's `except`: the internet peer cannot know them.
 */
import { cidrContains, parseCidr, type Cidr, type Family } from '../core/cidr.js';
import { CLOUD_METADATA_CIDRS } from './constants.js';
import { deepFreeze } from '../core/objects.js';

/** The cloud metadata prefixes (CLOUD_METADATA_CIDRS), parsed: the one copy the compiler and the analysis use. */
export const CLOUD_METADATA: readonly Cidr[] = CLOUD_METADATA_CIDRS.map((c) => parseCidr(c) as Cidr);

export interface SpecialRange {
  cidr: string;
  /** The name the registry (or the RFC) gives the range, and its RFC. */
  name: string;
}

export interface InternetBlock {
  family: Family;
  /** The ipBlock's cidr: every address of the family that can be public. */
  cidr: string;
  /** Ranges inside `cidr` that are not the public internet: the ipBlock's `except`, sorted and disjoint. */
  except: readonly SpecialRange[];
  /** Special-purpose ranges of the family outside `cidr`, left out by the choice of `cidr` itself. */
  outside: readonly SpecialRange[];
  /** Special-purpose ranges inside `cidr` and outside every `except`, reachable on purpose. */
  kept: readonly SpecialRange[];
}

const IPV4: InternetBlock = {
  family: 4,
  cidr: '0.0.0.0/0',
  except: [
    { cidr: '0.0.0.0/8', name: '"This network" (RFC 791, RFC 1122)' },
    { cidr: '10.0.0.0/8', name: 'Private-Use (RFC 1918)' },
    // Carrier-grade NAT; also used for pod, node and VPN ranges, and holds Alibaba Cloud's metadata address 100.100.100.200.
    { cidr: '100.64.0.0/10', name: 'Shared Address Space (RFC 6598)' },
    { cidr: '127.0.0.0/8', name: 'Loopback (RFC 1122)' },
    // Holds the cloud metadata address 169.254.169.254 and node-local services (NodeLocal DNSCache, cloud time servers).
    { cidr: '169.254.0.0/16', name: 'Link Local (RFC 3927)' },
    { cidr: '172.16.0.0/12', name: 'Private-Use (RFC 1918)' },
    // All of it: DS-Lite and 464XLAT (192.0.0.0/29), the dummy address, NAT64 discovery, and the PCP and TURN anycast addresses.
    { cidr: '192.0.0.0/24', name: 'IETF Protocol Assignments (RFC 6890)' },
    { cidr: '192.0.2.0/24', name: 'Documentation, TEST-NET-1 (RFC 5737)' },
    // A tunnel entry: a relay forwards what it carries to any IPv6 address, and on to the IPv4 address inside it.
    { cidr: '192.88.99.0/24', name: 'Deprecated 6to4 Relay Anycast (RFC 7526)' },
    { cidr: '192.168.0.0/16', name: 'Private-Use (RFC 1918)' },
    { cidr: '198.18.0.0/15', name: 'Benchmarking (RFC 2544)' },
    { cidr: '198.51.100.0/24', name: 'Documentation, TEST-NET-2 (RFC 5737)' },
    { cidr: '203.0.113.0/24', name: 'Documentation, TEST-NET-3 (RFC 5737)' },
    // Not a unicast destination (not in the special-purpose registry: RFC 5771 has its own).
    { cidr: '224.0.0.0/4', name: 'Multicast (RFC 5771)' },
    // Includes the limited broadcast address 255.255.255.255.
    { cidr: '240.0.0.0/4', name: 'Reserved (RFC 1112)' },
  ],
  outside: [],
  kept: [
    { cidr: '192.31.196.0/24', name: 'AS112-v4 (RFC 7535)' },
    { cidr: '192.52.193.0/24', name: 'AMT (RFC 7450)' },
    { cidr: '192.175.48.0/24', name: 'Direct Delegation AS112 Service (RFC 7534)' },
  ],
};

const IPV6: InternetBlock = {
  family: 6,
  cidr: '2000::/3',
  except: [
    // All of it: Teredo 2001::/32 (a tunnel to the IPv4 address written into the address), benchmarking
    // 2001:2::/48, the deprecated ORCHID 2001:10::/28, and the anycast services named in the header.
    { cidr: '2001::/23', name: 'IETF Protocol Assignments (RFC 2928)' },
    { cidr: '2001:db8::/32', name: 'Documentation (RFC 3849)' },
    // 2002:WWXX:YYZZ::/48 is a tunnel to the IPv4 address W.X.Y.Z: 2002:a00:1:: leads to 10.0.0.1.
    { cidr: '2002::/16', name: '6to4 (RFC 3056)' },
    { cidr: '3fff::/20', name: 'Documentation (RFC 9637)' },
  ],
  outside: [
    { cidr: '::/128', name: 'Unspecified Address (RFC 4291)' },
    { cidr: '::1/128', name: 'Loopback Address (RFC 4291)' },
    // Not in the registry; like the next three, it writes an IPv4 address into the last 32 bits.
    { cidr: '::/96', name: 'IPv4-compatible, deprecated (RFC 4291)' },
    // A dual-stack socket sends to the IPv4 address inside, which the IPv4 block then decides.
    { cidr: '::ffff:0:0/96', name: 'IPv4-mapped Address (RFC 4291)' },
    { cidr: '::ffff:0:0:0/96', name: 'IPv4-translated (RFC 2765)' },
    // Globally reachable in the registry, but a NAT64 sends it on to the IPv4 address inside, private ones
    // included where the translator does not refuse them. An IPv6-only cluster that needs NAT64 declares it in a cidr peer.
    { cidr: '64:ff9b::/96', name: 'IPv4-IPv6 Translation (RFC 6052)' },
    { cidr: '64:ff9b:1::/48', name: 'Local-use IPv4/IPv6 Translation (RFC 8215)' },
    { cidr: '100::/64', name: 'Discard-Only Address Block (RFC 6666)' },
    { cidr: '100:0:0:1::/64', name: 'Dummy IPv6 Prefix (RFC 9780)' },
    { cidr: '5f00::/16', name: 'Segment Routing (SRv6) SIDs (RFC 9602)' },
    // Holds the cloud metadata address fd00:ec2::254, and the pod and service ranges of most IPv6 clusters.
    { cidr: 'fc00::/7', name: 'Unique-Local (RFC 4193)' },
    { cidr: 'fe80::/10', name: 'Link-Local Unicast (RFC 4291)' },
    { cidr: 'fec0::/10', name: 'Site-Local, deprecated (RFC 3879)' },
    { cidr: 'ff00::/8', name: 'Multicast (RFC 4291)' },
  ],
  kept: [{ cidr: '2620:4f:8000::/48', name: 'Direct Delegation AS112 Service (RFC 7534)' }],
};

/** The public internet, one block per family, IPv4 first. Frozen. */
export const INTERNET_BLOCKS: readonly InternetBlock[] = deepFreeze([IPV4, IPV6]);

/** One block with its ranges parsed. */
export interface InternetIPBlock {
  cidr: Cidr;
  except: readonly Cidr[];
}

const parse = (text: string): Cidr => parseCidr(text) as Cidr;

/** INTERNET_BLOCKS as prefixes, for the compiler and the analysis. Frozen. */
export const INTERNET_IP_BLOCKS: readonly InternetIPBlock[] = deepFreeze(INTERNET_BLOCKS.map((b) => ({ cidr: parse(b.cidr), except: b.except.map((r) => parse(r.cidr)) })));

/**
 * The block that holds `c` strictly (a longer prefix inside it): where an `except` entry of an
 * internet peer belongs. Undefined when `c` is not in the public internet's blocks.
 */
export function internetBlockOf(c: Cidr): InternetIPBlock | undefined {
  return INTERNET_IP_BLOCKS.find((b) => cidrContains(b.cidr, c) && c.prefix > b.cidr.prefix);
}
