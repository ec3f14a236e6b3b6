/**
 * src/io/inputs.ts: collectInputs sorts the objects read, validates them and hands them on as
 * the API server would store them.
 */
import { API_VERSION, KIND } from '../../src/api/constants.js';
import { collectInputs, type Inputs } from '../../src/io/inputs.js';
import { InputError, type Manifest } from '../../src/io/manifests.js';
import { deepFreeze } from '../../src/core/objects.js';

type Obj = Record<string, unknown>;

/** A manifest at `file:line`, each field one line below the object's first. */
function manifest(object: Obj, line = 1, file = 'in.yaml'): Manifest {
  return { object: deepFreeze(object), source: { file, line }, lineOf: (path) => line + path.length };
}

function problemsOf(manifests: Manifest[]): readonly string[] {
  try {
    collectInputs(manifests);
  } catch (e) {
    if (e instanceof InputError) return e.problems;
    throw e;
  }
  throw new Error('collectInputs accepted the input');
}

const namespace = (metadata: Obj): Obj => ({ apiVersion: 'v1', kind: 'Namespace', metadata });
const tenant = (metadata: Obj, spec: Obj = {}): Obj => ({ apiVersion: API_VERSION, kind: KIND, metadata, spec });
const policy = (spec: unknown): Obj => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p', namespace: 'a' }, spec });

describe('collectInputs', () => {
  test('reports a Namespace given twice as defined twice, even when one copy names a namespace', () => {
    expect(problemsOf([manifest(namespace({ name: 'team-a' }), 1), manifest(namespace({ name: 'team-a', namespace: 'other' }), 5)])).toEqual([
      'in.yaml:5: Namespace team-a is defined twice (first at in.yaml:1; Namespace is cluster-scoped, so metadata.namespace does not tell them apart)',
    ]);
  });

  test('reports a TenantIsolation given twice with two different stray namespaces as defined twice', () => {
    expect(problemsOf([manifest(tenant({ name: 't', namespace: 'x' }), 1), manifest(tenant({ name: 't', namespace: 'y' }), 9)])).toEqual([
      'in.yaml:9: TenantIsolation t is defined twice (first at in.yaml:1; TenantIsolation is cluster-scoped, so metadata.namespace does not tell them apart)',
    ]);
  });

  test('hands on cluster-scoped objects without the namespace the API server clears', () => {
    const inputs = collectInputs([manifest(namespace({ name: 'team-a', namespace: 'other' })), manifest(tenant({ name: 't', namespace: 'other' }))]);
    expect(inputs.namespaces.map((n) => n.metadata)).toEqual([{ name: 'team-a' }]);
    expect(inputs.tenants.map((t) => t.metadata)).toEqual([{ name: 't' }]);
    expect(inputs.sourceOf.get(inputs.namespaces[0] as object)).toBe('in.yaml:1');
  });

  test('keeps namespaced objects of the same name in two namespaces apart', () => {
    const inputs = collectInputs([manifest({ ...policy({}), metadata: { name: 'p', namespace: 'a' } }), manifest({ ...policy({}), metadata: { name: 'p', namespace: 'b' } })]);
    expect(inputs.policies.map((p) => p.metadata.namespace)).toEqual(['a', 'b']);
  });

  test('drops null fields before the compiler sees them, as the API server does', () => {
    const inputs = collectInputs([
      manifest(tenant({ name: 't' }, { mode: null, namespaces: ['a'] })),
      manifest(policy({ podSelector: {}, ingress: null, egress: [{ to: null, ports: [{ port: 53, protocol: null }] }] })),
    ]);
    expect(inputs.tenants[0]?.spec).toEqual({ namespaces: ['a'] });
    expect(inputs.policies[0]?.spec).toEqual({ podSelector: {}, egress: [{ ports: [{ port: 53 }] }] });
  });

  test.each([
    ['without podSelector', { ingress: [] }, { ingress: [], podSelector: {} }],
    ['without spec', undefined, { podSelector: {} }],
    ['with a null spec', null, { podSelector: {} }],
  ])('hands on a NetworkPolicy %s with the empty podSelector, which selects every pod', (_what, spec, stored) => {
    expect(collectInputs([manifest(policy(spec))]).policies[0]?.spec).toEqual(stored);
  });

  test('hands on an object that needs no change as it was read', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'a' }, spec: { containers: [] } };
    const m = manifest(pod);
    expect(collectInputs([m]).pods[0]).toBe(m.object);
  });

  test('reports the problems of one object in the order of its lines, each with its kind and name', () => {
    const m: Manifest = {
      object: deepFreeze(policy({ podSelector: {}, policyTypes: ['ingress'], ingress: [{ ports: [{ port: 0 }] }] })),
      source: { file: 'in.yaml', line: 1 },
      lineOf: (path) => ({ 'spec.policyTypes.0': 20, 'spec.ingress.0.ports.0.port': 10 })[path.join('.')] ?? 1,
    };
    expect(problemsOf([m])).toEqual([
      'in.yaml:10: NetworkPolicy a/p: spec.ingress[0].ports[0].port: must be between 1 and 65535, found 0',
      'in.yaml:20: NetworkPolicy a/p: spec.policyTypes[0]: must be one of "Ingress", "Egress", found "ingress"',
    ]);
  });

  test('reports every problem of every object together', () => {
    const problems = problemsOf([
      manifest(namespace({ name: 'Team_A' }), 1),
      manifest(policy({ podSelector: {}, ingress: [{ from: [{}] }] }), 4),
      manifest(tenant({ name: 't', labels: { 'a b': 'c' } }), 12),
    ]);
    expect(problems.map((p) => p.split(': ').slice(0, 2).join(': '))).toEqual(['in.yaml:3: Namespace Team_A', 'in.yaml:9: NetworkPolicy a/p', 'in.yaml:15: TenantIsolation t']);
  });

  test('still counts the kinds it does not read and refuses a TenantIsolation of another version', () => {
    const inputs: Inputs = collectInputs([manifest({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'a' } })]);
    expect(inputs.ignored).toEqual(new Map([['v1/Service', 1]]));
    expect(problemsOf([manifest({ ...tenant({ name: 't' }), apiVersion: 'netfence.dev/v1' })])).toEqual([
      'in.yaml:2: TenantIsolation must have apiVersion netfence.dev/v1alpha1, found "netfence.dev/v1"',
    ]);
  });
});
