/**
 * Properties of the compiler over random clusters, checked by evaluating the generated
 * policies with the NetworkPolicy evaluator (not by reading the compiler's own logic back).
 */
import fc from 'fast-check';
import type { NetworkPolicy, Pod, Protocol } from '../../src/api/k8s.js';
import type { Peer, PortSpec, TenantIsolation, TenantIsolationSpec } from '../../src/api/types.js';
import { compile, type CompileInput, type CompileResult } from '../../src/compiler/compile.js';
import { INTERNET_IP_BLOCKS } from '../../src/api/internet.js';
import { cidrContainsIP, parseCidr, parseIP } from '../../src/core/cidr.js';
import { matchesSelector } from '../../src/core/labels.js';
import { buildEvaluator, type Endpoint, type Evaluator } from '../../src/evaluator/index.js';
import { clusterArb, type Cluster } from '../fixtures/tenant-cluster-arbitrary.js';

const RUNS = 1000;
const PROBES: [number, Protocol][] = [
  [80, 'TCP'],
  [443, 'TCP'],
  [53, 'UDP'],
  [53, 'TCP'],
  [8080, 'SCTP'],
];
const METADATA_IPS = ['169.254.169.254', 'fd00:ec2::254'];

/** Ownership derived from the result; conflicts are tested by their own property. */
function tenantOfNamespace(result: CompileResult): Map<string, { name: string; mode: string }> {
  const out = new Map<string, { name: string; mode: string }>();
  for (const t of result.tenants) for (const m of t.members) out.set(m, { name: t.name, mode: t.mode });
  return out;
}

function evaluatorFor(c: Cluster, policies: readonly NetworkPolicy[]): Evaluator {
  return buildEvaluator({ namespaces: c.namespaces, pods: c.pods, policies });
}

const podEndpoint = (p: Pod): Endpoint => ({ kind: 'pod', namespace: p.metadata.namespace, name: p.metadata.name });

function portCovered(ports: readonly PortSpec[] | undefined, port: number, protocol: Protocol): boolean {
  if (ports === undefined || ports.length === 0) return true;
  return ports.some((p) => (p.protocol ?? 'TCP') === protocol && (p.port === undefined || (typeof p.port === 'number' && port >= p.port && port <= (p.endPort ?? p.port))));
}

/** The oracle of P2: does this declared peer name this pod (on this port)? */
function peerDeclares(peer: Peer, pod: Pod, c: Cluster, result: CompileResult, port: number, protocol: Protocol, defaultPorts?: readonly PortSpec[]): boolean {
  if (!portCovered(peer.ports ?? defaultPorts, port, protocol)) return false;
  const nsName = pod.metadata.namespace;
  const nsObj = c.namespaces.find((n) => n.metadata.name === nsName);
  const nsLabels = { ...(nsObj?.metadata.labels ?? {}), 'kubernetes.io/metadata.name': nsName };
  const podOk = matchesSelector(peer.podSelector, pod.metadata.labels);
  if (peer.tenant !== undefined) return podOk && (result.tenants.find((t) => t.name === peer.tenant)?.members.includes(nsName) ?? false);
  if (peer.namespaces !== undefined) return podOk && peer.namespaces.includes(nsName);
  if (peer.namespaceSelector !== undefined) return podOk && matchesSelector(peer.namespaceSelector, nsLabels);
  if (peer.cidr !== undefined) {
    const ip = parseIP(pod.status?.podIP ?? '');
    const cidr = parseCidr(peer.cidr);
    if (ip === null || cidr === null || !cidrContainsIP(cidr, ip)) return false;
    return !(peer.except ?? []).some((e) => cidrContainsIP(parseCidr(e) as NonNullable<ReturnType<typeof parseCidr>>, ip));
  }
  if (peer.internet === true) {
    const ip = parseIP(pod.status?.podIP ?? '');
    if (ip === null) return false;
    const block = INTERNET_IP_BLOCKS.find((b) => cidrContainsIP(b.cidr, ip));
    const out = [...(block?.except ?? []), ...(peer.except ?? []).map((e) => parseCidr(e) as NonNullable<ReturnType<typeof parseCidr>>)];
    return block !== undefined && !out.some((e) => cidrContainsIP(e, ip));
  }
  return false;
}

/**
 * Which tenants claim each namespace, computed from the spec alone (not from the compiler):
 * names that exist, selector matches and tenant labels, system namespaces only by name.
 */
function oracleClaims(c: Cluster): Map<string, string[]> {
  const excluded = new Set(['kube-system', 'kube-public', 'kube-node-lease', 'netfence-system']);
  const claims = new Map<string, string[]>();
  for (const t of c.input.tenants) {
    const spec = t.spec;
    const byLabel = spec.labelMembership ?? (spec.namespaces === undefined && spec.namespaceSelector === undefined);
    for (const n of c.namespaces) {
      const name = n.metadata.name;
      const labels: Record<string, string> = { ...(n.metadata.labels ?? {}), 'kubernetes.io/metadata.name': name };
      const claimed =
        (spec.namespaces ?? []).includes(name) ||
        (!excluded.has(name) && spec.namespaceSelector !== undefined && matchesSelector(spec.namespaceSelector, labels)) ||
        (!excluded.has(name) && byLabel && labels['netfence.dev/tenant'] === t.metadata.name);
      if (claimed) claims.set(name, [...(claims.get(name) ?? []), t.metadata.name]);
    }
  }
  return claims;
}

function tenantSpec(c: Cluster, name: string): TenantIsolationSpec {
  return (c.input.tenants.find((t) => t.metadata.name === name) as TenantIsolation).spec;
}

describe('compiler properties over random clusters', () => {
  test('the output does not depend on the order of tenants, namespaces or pods', () => {
    fc.assert(
      fc.property(clusterArb, fc.integer({ min: 0, max: 1000 }), (c, seed) => {
        const rotate = <T>(xs: readonly T[]): T[] => (xs.length === 0 ? [] : [...xs.slice(seed % xs.length), ...xs.slice(0, seed % xs.length)].reverse());
        const shuffled: CompileInput = { ...c.input, tenants: rotate(c.input.tenants), namespaces: rotate(c.input.namespaces), pods: rotate(c.input.pods ?? []) };
        const a = compile(c.input);
        const b = compile(shuffled);
        expect(b).toEqual(a);
        // Key order matters for byte-equal YAML, which toEqual does not see.
        expect(JSON.stringify(b) === JSON.stringify(a)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  test('compiling twice gives the same result and leaves the frozen input untouched', () => {
    fc.assert(
      fc.property(clusterArb, (c) => {
        const before = JSON.stringify(c.input);
        const a = compile(c.input);
        const b = compile(c.input);
        expect(b).toEqual(a);
        expect(JSON.stringify(c.input)).toBe(before);
      }),
      { numRuns: RUNS },
    );
  });

  test('P1: every pod of an enforced member or conflicted namespace is isolated both ways', () => {
    fc.assert(
      fc.property(clusterArb, (c) => {
        const result = compile(c.input);
        const ev = evaluatorFor(c, result.policies);
        const enforced = new Set(result.tenants.filter((t) => t.mode === 'Enforce').flatMap((t) => t.members));
        for (const [namespace, claimants] of oracleClaims(c)) {
          if (claimants.some((n) => tenantSpec(c, n).mode !== 'Audit')) enforced.add(namespace);
        }
        const probe = c.pods.find((p) => p.metadata.namespace === 'ext') as Pod;
        for (const ns of enforced) {
          const deny = result.policies.find((p) => p.metadata.namespace === ns && p.metadata.name === 'netfence-default-deny');
          expect(deny?.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
          for (const pod of c.pods.filter((p) => p.metadata.namespace === ns)) {
            expect(ev.evaluate(podEndpoint(pod), podEndpoint(probe), 80, 'TCP').egress.isolated).toBe(true);
            expect(ev.evaluate(podEndpoint(probe), podEndpoint(pod), 80, 'TCP').ingress.isolated).toBe(true);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('P2: no generated rule lets a tenant reach another unless the receiver declares the ingress and the sender the egress', () => {
    fc.assert(
      fc.property(clusterArb, (c) => {
        const result = compile(c.input);
        const ev = evaluatorFor(c, result.policies);
        const owner = tenantOfNamespace(result);
        for (const src of c.pods) {
          for (const dst of c.pods) {
            const st = owner.get(src.metadata.namespace);
            const dt = owner.get(dst.metadata.namespace);
            if (src === dst || st === undefined || dt === undefined || st.name === dt.name) continue;
            for (const [port, protocol] of PROBES) {
              const v = ev.evaluate(podEndpoint(src), podEndpoint(dst), port, protocol);
              if (st.mode === 'Enforce' && v.egress.allowed) {
                const spec = tenantSpec(c, st.name);
                const toDns =
                  spec.egress?.dns !== false && dst.metadata.namespace === 'kube-system' && dst.metadata.labels?.['k8s-app'] === 'kube-dns' && port === 53 && protocol !== 'SCTP';
                const declared = toDns || (spec.egress?.to ?? []).some((p) => peerDeclares(p, dst, c, result, port, protocol));
                expect({ src: podEndpoint(src), dst: podEndpoint(dst), port, protocol, egressDeclared: declared }).toMatchObject({ egressDeclared: true });
              }
              if (dt.mode === 'Enforce' && v.ingress.allowed) {
                const spec = tenantSpec(c, dt.name);
                const viaIngress = (spec.ingress?.from ?? []).some((p) => peerDeclares(p, src, c, result, port, protocol));
                const viaExposure = (spec.exposures ?? []).some(
                  (e) => dst.metadata.labels?.[`netfence.dev/expose-${e.name}`] === 'true' && e.from.some((p) => peerDeclares(p, src, c, result, port, protocol, e.ports)),
                );
                expect({ src: podEndpoint(src), dst: podEndpoint(dst), port, protocol, ingressDeclared: viaIngress || viaExposure }).toMatchObject({ ingressDeclared: true });
              }
            }
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('P3: no pod of an enforced tenant reaches cloud metadata unless a CIDR peer allows it explicitly', () => {
    fc.assert(
      fc.property(clusterArb, (c) => {
        const result = compile(c.input);
        const ev = evaluatorFor(c, result.policies);
        for (const t of result.tenants.filter((x) => x.mode === 'Enforce')) {
          const optIn = (tenantSpec(c, t.name).egress?.to ?? []).filter((p) => p.cidr !== undefined && p.allowCloudMetadata === true);
          for (const pod of c.pods.filter((p) => t.members.includes(p.metadata.namespace))) {
            for (const ip of METADATA_IPS) {
              const v = ev.evaluate(podEndpoint(pod), { kind: 'external', ip }, 80, 'TCP');
              if (v.egress.allowed) {
                const addr = parseIP(ip) as NonNullable<ReturnType<typeof parseIP>>;
                expect(optIn.some((p) => cidrContainsIP(parseCidr(p.cidr as string) as NonNullable<ReturnType<typeof parseCidr>>, addr))).toBe(true);
              }
            }
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('membership and conflicts follow the spec: a namespace claimed by one tenant is its member, by several a conflict', () => {
    fc.assert(
      fc.property(clusterArb, (c) => {
        const result = compile(c.input);
        const claims = oracleClaims(c);
        const members = new Map(result.tenants.map((t) => [t.name, [...t.members].sort()]));
        for (const t of c.input.tenants) {
          const expected = [...claims.entries()]
            .filter(([, ts]) => ts.length === 1 && ts[0] === t.metadata.name)
            .map(([n]) => n)
            .sort();
          expect(members.get(t.metadata.name)).toEqual(expected);
        }
        const expectedConflicts = [...claims.entries()].filter(([, ts]) => ts.length > 1).map(([n, ts]) => ({ namespace: n, tenants: [...ts].sort() }));
        expect([...result.conflicts].sort((a, b) => a.namespace.localeCompare(b.namespace))).toEqual(expectedConflicts.sort((a, b) => a.namespace.localeCompare(b.namespace)));
      }),
      { numRuns: RUNS },
    );
  });

  test('P6: pods in a namespace claimed by several tenants, one enforcing, can neither send nor receive', () => {
    fc.assert(
      fc.property(clusterArb, (c) => {
        const result = compile(c.input);
        const ev = evaluatorFor(c, result.policies);
        for (const [namespace, claimants] of oracleClaims(c)) {
          if (claimants.length < 2 || claimants.every((n) => tenantSpec(c, n).mode === 'Audit')) continue;
          for (const pod of c.pods.filter((p) => p.metadata.namespace === namespace)) {
            for (const other of c.pods.filter((p) => p !== pod)) {
              for (const [port, protocol] of PROBES) {
                expect(ev.evaluate(podEndpoint(pod), podEndpoint(other), port, protocol).egress.allowed).toBe(false);
                expect(ev.evaluate(podEndpoint(other), podEndpoint(pod), port, protocol).ingress.allowed).toBe(false);
              }
            }
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('policies are written only into enforced member namespaces and conflicted ones, and no rule has an empty peer list', () => {
    fc.assert(
      fc.property(clusterArb, (c) => {
        const result = compile(c.input);
        const allowed = new Set(result.tenants.filter((t) => t.mode === 'Enforce').flatMap((t) => t.members));
        for (const conflict of result.conflicts) allowed.add(conflict.namespace);
        for (const p of result.policies) {
          expect(allowed.has(p.metadata.namespace)).toBe(true);
          expect(p.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('netfence');
          for (const r of p.spec.ingress ?? []) expect(r.from?.length ?? 0).toBeGreaterThan(0);
          for (const r of p.spec.egress ?? []) expect(r.to?.length ?? 0).toBeGreaterThan(0);
        }
        const keys = result.policies.map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
        expect(new Set(keys).size).toBe(keys.length);
        expect([...keys].sort()).toEqual(keys);
      }),
      { numRuns: RUNS },
    );
  });
});
