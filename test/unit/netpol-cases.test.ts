/**
 * The evaluator against the upstream NetworkPolicy cases in `<repo>/../shared/netpol-cases`
 * (see that folder's README for provenance and format). One test per fixture.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Namespace, NetworkPolicy, Pod, Protocol } from '../../src/api/k8s.js';
import { buildReachability, classOfEndpoint } from '../../src/analysis/reachability.js';
import { buildEvaluator, formatEndpoint, parseEndpoint, type ClusterModel } from '../../src/evaluator/index.js';

const EXPECTED_FIXTURES = 91;
const EXPECTED_EXPECTATIONS = 39516;
const MAX_LISTED_MISMATCHES = 40;

interface FixturePod {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  ip?: string;
  containerPorts?: { name?: string; containerPort: number; protocol?: Protocol }[];
}

interface Expectation {
  from: string;
  to: string;
  port: number;
  protocol: Protocol;
  allowed: boolean;
}

interface Fixture {
  name: string;
  namespaces: { name: string; labels?: Record<string, string> }[];
  pods: FixturePod[];
  policies: NetworkPolicy[];
  expectations: Expectation[];
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const casesDir = join(repoRoot, '..', 'shared', 'netpol-cases');

function toPod(p: FixturePod): Pod {
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: p.namespace, name: p.name, labels: p.labels ?? {} },
    spec: { containers: [{ name: 'main', ports: p.containerPorts ?? [] }] },
  };
  if (p.ip !== undefined) pod.status = { podIP: p.ip, podIPs: [{ ip: p.ip }] };
  return pod;
}

function toModel(f: Fixture): ClusterModel {
  const namespaces: Namespace[] = f.namespaces.map((n) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: n.name, labels: n.labels ?? {} },
  }));
  return { namespaces, pods: f.pods.map(toPod), policies: f.policies };
}

function loadFixtures(): Fixture[] {
  return readdirSync(casesDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => Object.freeze(JSON.parse(readFileSync(join(casesDir, f), 'utf8')) as Fixture));
}

/** The expectations the evaluator disagrees with, one line each. */
function mismatches(f: Fixture): string[] {
  const evaluator = buildEvaluator(toModel(f));
  const out: string[] = [];
  for (const e of f.expectations) {
    const v = evaluator.evaluate(parseEndpoint(e.from), parseEndpoint(e.to), e.port, e.protocol);
    if (v.allowed !== e.allowed) {
      const refs = (side: typeof v.egress): string =>
        `selecting [${side.selecting.map((r) => `${r.namespace}/${r.name}`).join(', ')}], allowing [${side.allowing.map((r) => `${r.namespace}/${r.name}`).join(', ')}]`;
      out.push(
        `${e.from} -> ${e.to} ${e.port}/${e.protocol}: expected ${e.allowed ? 'allowed' : 'denied'}, ` +
          `got ${v.allowed ? 'allowed' : 'denied'} (egress ${refs(v.egress)}; ingress ${refs(v.ingress)})`,
      );
    }
  }
  return capped(out);
}

function capped(out: string[]): string[] {
  if (out.length > MAX_LISTED_MISMATCHES) {
    return [...out.slice(0, MAX_LISTED_MISMATCHES), `... and ${out.length - MAX_LISTED_MISMATCHES} more`];
  }
  return out;
}

/** The same for the class-based reachability analysis behind check and matrix (no tenants). */
function analysisMismatches(f: Fixture): string[] {
  const reach = buildReachability(toModel(f), { tenants: new Map(), tenantOf: new Map() });
  const out: string[] = [];
  for (const e of f.expectations) {
    const p = reach.pair(classOfEndpoint(reach, parseEndpoint(e.from)), classOfEndpoint(reach, parseEndpoint(e.to)));
    const allowed = p.allowed.has(e.protocol, e.port);
    if (allowed !== e.allowed) {
      out.push(`${e.from} -> ${e.to} ${e.port}/${e.protocol}: expected ${e.allowed ? 'allowed' : 'denied'}, analysis allows ${p.allowed.format()}`);
    }
  }
  return capped(out);
}

if (!existsSync(casesDir)) {
  if (process.env['CI'] === 'true') {
    test('the upstream NetworkPolicy cases are present in CI', () => {
      throw new Error(`netpol cases folder ${casesDir} is missing; CI must check out shared/ beside the repo`);
    });
  } else {
    console.warn(`!!! SKIPPING netpol-cases: ${casesDir} does not exist (CI fails here; locally put shared/ beside the repo)`);
    test.skip('the upstream NetworkPolicy cases agree with the evaluator (folder missing)', () => {});
  }
} else {
  const fixtures = loadFixtures();

  describe('the evaluator agrees with every upstream NetworkPolicy case', () => {
    test('the corpus holds all fixtures and expectations', () => {
      expect(fixtures).toHaveLength(EXPECTED_FIXTURES);
      expect(fixtures.reduce((n, f) => n + f.expectations.length, 0)).toBe(EXPECTED_EXPECTATIONS);
    });

    test.each(fixtures.map((f) => [f.name, f] as const))('%s', (_name, fixture) => {
      expect(mismatches(fixture)).toEqual([]);
    });
  });

  describe('the reachability analysis agrees with every upstream NetworkPolicy case', () => {
    test.each(fixtures.map((f) => [f.name, f] as const))('%s', (_name, fixture) => {
      expect(analysisMismatches(fixture)).toEqual([]);
    });
  });

  test('every expectation endpoint reads back in the fixture notation', () => {
    for (const f of fixtures) {
      for (const e of f.expectations) {
        for (const text of [e.from, e.to]) {
          const endpoint = parseEndpoint(text);
          expect(endpoint.kind === 'external' ? `ip:${formatEndpoint(endpoint)}` : formatEndpoint(endpoint)).toBe(text);
        }
      }
    }
  });
}
