/** Properties of the evaluator over small random clusters. */
import fc from 'fast-check';
import type { NetworkPolicy, Protocol } from '../../src/api/k8s.js';
import { PROTOCOLS } from '../../src/api/k8s.js';
import { buildEvaluator, type ClusterModel, type Endpoint, type SideVerdict, type Verdict } from '../../src/evaluator/index.js';
import { cluster, EXTERNAL, NAMESPACE_NAMES, policyIn, PORTS } from '../fixtures/cluster-arbitrary.js';

function endpoints(model: ClusterModel): Endpoint[] {
  return [...model.pods.map((p): Endpoint => ({ kind: 'pod', namespace: p.metadata.namespace, name: p.metadata.name })), ...EXTERNAL];
}

interface Probe {
  from: Endpoint;
  to: Endpoint;
  port: number;
  protocol: Protocol;
}

function probes(model: ClusterModel): Probe[] {
  const out: Probe[] = [];
  for (const from of endpoints(model)) {
    for (const to of endpoints(model)) {
      if (from.kind === 'external' && to.kind === 'external') continue;
      for (const port of PORTS) for (const protocol of PROTOCOLS) out.push({ from, to, port, protocol });
    }
  }
  return out;
}

/** Verdicts for the probes of `model`, evaluated on `evaluated` (by default the same model). */
function verdicts(model: ClusterModel, evaluated: ClusterModel = model): Verdict[] {
  const evaluator = buildEvaluator(evaluated);
  return probes(model).map((p) => evaluator.evaluate(p.from, p.to, p.port, p.protocol));
}

const key = (r: { namespace: string; name: string }): string => `${r.namespace}/${r.name}`;

/** What is wrong with one side of a verdict; empty when it is consistent. Plain checks: expect() per probe is too slow. */
function sideProblems(side: SideVerdict, endpoint: Endpoint): string[] {
  const problems: string[] = [];
  const selecting = side.selecting.map(key);
  if (side.isolated !== selecting.length > 0) problems.push('isolated disagrees with selecting');
  if (side.allowed !== (!side.isolated || side.allowing.length > 0)) problems.push('allowed disagrees with isolated/allowing');
  if (selecting.join() !== [...selecting].sort().join()) problems.push('selecting is not sorted');
  const allowing = side.allowing.map(key);
  if (allowing.join() !== selecting.filter((k) => allowing.includes(k)).join()) problems.push('allowing is not an ordered subset of selecting');
  if (endpoint.kind === 'external' && side.isolated) problems.push('an external endpoint is isolated');
  if (endpoint.kind === 'pod' && side.selecting.some((r) => r.namespace !== endpoint.namespace)) problems.push('a policy of another namespace selects');
  return problems;
}

const allowAll = (namespace: string): NetworkPolicy => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { namespace, name: 'zz-allow-all' },
  spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [{}], egress: [{}] },
});

const denyAll = (namespace: string): NetworkPolicy => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { namespace, name: 'zz-deny-all' },
  spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
});

describe('evaluator properties', () => {
  test('a verdict is the conjunction of two consistent sides unless a pod talks to itself, and an external side is never isolated', () => {
    fc.assert(
      fc.property(cluster, (model) => {
        const evaluator = buildEvaluator(model);
        const problems = probes(model).flatMap((p) => {
          const v = evaluator.evaluate(p.from, p.to, p.port, p.protocol);
          const found = [...sideProblems(v.egress, p.from), ...sideProblems(v.ingress, p.to)];
          if (v.allowed !== (v.exempt !== undefined || (v.egress.allowed && v.ingress.allowed))) found.push('allowed is not exempt, or egress and ingress');
          const self = p.from.kind === 'pod' && JSON.stringify(p.from) === JSON.stringify(p.to);
          if ((v.exempt?.kind === 'self') !== self || (v.exempt !== undefined && v.exempt.kind !== 'self')) found.push(`exempt is ${JSON.stringify(v.exempt)}`);
          return found.map((f) => `${JSON.stringify(p)}: ${f}`);
        });
        expect(problems).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });

  test('verdicts do not depend on the order of pods, namespaces and policies', () => {
    fc.assert(
      fc.property(cluster, (model) => {
        const reversed: ClusterModel = {
          namespaces: [...model.namespaces].reverse(),
          pods: [...model.pods].reverse(),
          policies: [...model.policies].reverse(),
        };
        expect(JSON.stringify(verdicts(model, reversed))).toBe(JSON.stringify(verdicts(model)));
      }),
      { numRuns: 100 },
    );
  });

  test('policies of a third namespace change nothing between two others', () => {
    fc.assert(
      fc.property(cluster, (model) => {
        const withoutC: ClusterModel = { ...model, policies: model.policies.filter((p) => p.metadata.namespace !== 'c') };
        const inAB = (e: Endpoint): boolean => e.kind === 'external' || e.namespace !== 'c';
        const evaluator = buildEvaluator(model);
        const reference = buildEvaluator(withoutC);
        const differing = probes(model)
          .filter((q) => inAB(q.from) && inAB(q.to))
          .filter((p) => {
            const [v, w] = [evaluator.evaluate(p.from, p.to, p.port, p.protocol), reference.evaluate(p.from, p.to, p.port, p.protocol)];
            return JSON.stringify(v) !== JSON.stringify(w);
          });
        expect(differing).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });

  test('an allow-all policy in every namespace allows every connection, whatever else exists', () => {
    fc.assert(
      fc.property(cluster, (model) => {
        const opened: ClusterModel = { ...model, policies: [...model.policies, ...NAMESPACE_NAMES.map(allowAll)] };
        expect(verdicts(opened).every((v) => v.allowed)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  test('a deny-all policy alone in every namespace denies every connection that touches a pod, but a pod to itself', () => {
    fc.assert(
      fc.property(cluster, (model) => {
        const closed: ClusterModel = { ...model, policies: NAMESPACE_NAMES.map(denyAll) };
        const all = probes(closed);
        const allowed = verdicts(closed).flatMap((v, i) => (v.allowed ? [all[i] as Probe] : []));
        expect(allowed.filter((p) => JSON.stringify(p.from) !== JSON.stringify(p.to))).toEqual([]);
        const selfProbes = all.filter((p) => p.from.kind === 'pod' && JSON.stringify(p.from) === JSON.stringify(p.to));
        expect(allowed.length).toBe(selfProbes.length);
      }),
      { numRuns: 100 },
    );
  });

  test('adding a policy never takes away a connection whose sides were already isolated', () => {
    fc.assert(
      fc.property(
        cluster,
        fc.constantFrom(...NAMESPACE_NAMES).chain((n) => policyIn(n)),
        (model, extra) => {
          const more: ClusterModel = { ...model, policies: [...model.policies, { ...extra, metadata: { ...extra.metadata, name: 'extra' } }] };
          const before = verdicts(model);
          const after = verdicts(more);
          const lost = before.filter((v, i) => {
            const w = after[i] as Verdict;
            return (v.egress.isolated && v.egress.allowed && !w.egress.allowed) || (v.ingress.isolated && v.ingress.allowed && !w.ingress.allowed);
          });
          expect(lost).toEqual([]);
        },
      ),
      { numRuns: 100 },
    );
  });
});
