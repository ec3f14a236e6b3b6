/** The class-based reachability analysis: agreement with the evaluator, pruning, grouping. */
import fc from 'fast-check';
import type { NetworkPolicy, Pod } from '../../src/api/k8s.js';
import { PROTOCOLS } from '../../src/api/k8s.js';
import type { Fences } from '../../src/analysis/fences.js';
import { PortSet } from '../../src/analysis/ports.js';
import { allowedBetween, buildReachability, classOfEndpoint, type EndpointClass, type Reachability } from '../../src/analysis/reachability.js';
import { buildEvaluator, type ClusterModel, type Endpoint } from '../../src/evaluator/index.js';
import { ns, pod } from '../fixtures/builders.js';
import { cluster, EXTERNAL } from '../fixtures/cluster-arbitrary.js';

const NO_FENCES: Fences = { tenants: new Map(), tenantOf: new Map() };
const PROBE_PORTS = [1, 79, 80, 81, 82, 443, 65535];

function endpoints(model: ClusterModel): Endpoint[] {
  return [
    ...model.pods.map((p): Endpoint => ({ kind: 'pod', namespace: p.metadata.namespace, name: p.metadata.name })),
    ...EXTERNAL,
    { kind: 'external', ip: '169.254.169.254' },
    { kind: 'external', ip: '2001:db8::1' },
  ];
}

const show = (e: Endpoint): string => (e.kind === 'pod' ? `${e.namespace}/${e.name}` : e.ip);

const usesNamedPorts = (model: ClusterModel): boolean =>
  model.policies.some((p) => [...(p.spec.ingress ?? []), ...(p.spec.egress ?? [])].some((r) => (r.ports ?? []).some((x) => typeof x.port === 'string')));

/**
 * Probes where the analysis and the evaluator disagree. The possible pods are handed to the
 * evaluator as pods with their witness labels; a named port on one stands for every port in
 * the analysis and for none in the evaluator, so they are probed only where no rule names a port.
 */
function disagreements(model: ClusterModel): string[] {
  const reach = buildReachability(model, NO_FENCES);
  const withPossible: ClusterModel = usesNamedPorts(model) ? model : { ...model, pods: [...model.pods, ...(reach.possiblePods as Pod[])] };
  const evaluator = buildEvaluator(withPossible);
  const out: string[] = [];
  for (const from of endpoints(withPossible)) {
    for (const to of endpoints(withPossible)) {
      if (from.kind === 'external' && to.kind === 'external') continue;
      const allowed = allowedBetween(reach, from, to).ports;
      for (const port of PROBE_PORTS) {
        for (const protocol of PROTOCOLS) {
          const v = evaluator.evaluate(from, to, port, protocol).allowed;
          if (v !== allowed.has(protocol, port)) out.push(`${show(from)} -> ${show(to)} ${protocol}/${port}: evaluator ${v}, analysis ${allowed.format()}`);
        }
      }
    }
  }
  return out;
}

function pairKey(from: EndpointClass, to: EndpointClass): string {
  return `${from.index}>${to.index}`;
}

/** Every class pair with something allowed, found by trying them all. */
function bruteForce(reach: Reachability): Map<string, string> {
  const out = new Map<string, string>();
  for (const from of reach.classes) {
    for (const to of reach.classes) {
      if (from.kind === 'external' && to.kind === 'external') continue;
      const allowed = reach.pair(from, to).allowed;
      if (!allowed.isEmpty()) out.set(pairKey(from, to), allowed.key());
    }
  }
  return out;
}

function visited(reach: Reachability): Map<string, string> {
  const out = new Map<string, string>();
  reach.forEachAllowed((p) => {
    expect(out.has(pairKey(p.from, p.to))).toBe(false);
    out.set(pairKey(p.from, p.to), p.allowed.key());
  });
  return out;
}

describe('the reachability analysis', () => {
  test('allows exactly the ports the evaluator allows, for every pair of random clusters', () => {
    fc.assert(
      fc.property(cluster, (model) => {
        expect(disagreements(model)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  test('visits every class pair that allows something, once, and no other', () => {
    fc.assert(
      fc.property(cluster, (model) => {
        const reach = buildReachability(model, NO_FENCES);
        expect(visited(reach)).toEqual(bruteForce(reach));
      }),
      { numRuns: 300 },
    );
  });

  test('puts pods no rule can tell apart in one class, and pods a rule can tell apart in two', () => {
    const pods: Pod[] = Array.from({ length: 500 }, (_, i) => pod('web', `p${i}`, { app: 'web', index: String(i) }));
    pods.push(pod('web', 'db', { app: 'db' }));
    const policy: NetworkPolicy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { namespace: 'web', name: 'db-from-web' },
      spec: { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }] },
    };
    const reach = buildReachability({ namespaces: [ns('web')], pods, policies: [policy] }, NO_FENCES);
    const podClasses = reach.classes.filter((c) => c.kind === 'pods');
    // 500 web pods and the pod that could be labelled app=web, db and its possible twin, and a pod with neither label.
    expect(podClasses.map((c) => c.pods.length).sort((a, b) => a - b)).toEqual([1, 2, 501]);
    expect(reach.classOfPod('web', '*{app=web}')).toBe(reach.classOfPod('web', 'p0'));
    const web = reach.classOfPod('web', 'p7') as EndpointClass;
    const db = reach.classOfPod('web', 'db') as EndpointClass;
    expect(reach.pair(web, db).allowed.isAll()).toBe(true);
    expect(reach.pair(db, db).allowed.isEmpty()).toBe(true);
  });

  test('tells pods apart by the numbers their named ports carry', () => {
    const withPort = (name: string, containerPort: number): Pod => ({
      ...pod('a', name, { app: 'srv' }),
      spec: { containers: [{ ports: [{ name: 'http', containerPort }] }] },
    });
    const policy: NetworkPolicy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { namespace: 'a', name: 'http-only' },
      spec: { podSelector: {}, ingress: [{ ports: [{ port: 'http' }] }] },
    };
    const reach = buildReachability({ namespaces: [ns('a')], pods: [withPort('s80', 80), withPort('s8080', 8080), withPort('t80', 80)], policies: [policy] }, NO_FENCES);
    const s80 = reach.classOfPod('a', 's80') as EndpointClass;
    expect(reach.classOfPod('a', 't80')).toBe(s80);
    expect(reach.classOfPod('a', 's8080')).not.toBe(s80);
    expect(reach.pair(s80, reach.classOfPod('a', 's8080') as EndpointClass).allowed.equals(PortSet.range('TCP', 8080))).toBe(true);
  });

  test('gives every namespace its possible pods, and cloud metadata a class of its own', () => {
    const reach = buildReachability({ namespaces: [ns('empty'), ns('full')], pods: [pod('full', 'x')], policies: [] }, NO_FENCES);
    const rep = reach.classOfPod('empty', '*');
    expect(rep?.pods).toContainEqual({ namespace: 'empty', name: '*', origin: 'possible', labels: [] });
    expect(rep?.pods).toContainEqual({ namespace: 'full', name: 'x', origin: 'pod' });
    expect(reach.classOfPod('full', '*')).toBe(rep);
    const metadata = classOfEndpoint(reach, { kind: 'external', ip: '169.254.169.254' });
    expect(metadata.addresses.map((a) => a.text)).toEqual(['169.254.169.254/32', 'fd00:ec2::254/128']);
    expect(classOfEndpoint(reach, { kind: 'external', ip: '8.8.8.8' })).not.toBe(metadata);
  });
});
